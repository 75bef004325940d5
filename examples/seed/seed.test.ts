/**
 * The seed's program, verbatim (CommonJS, `require('sidecar')`, burro 0.4.13 from npm, the
 * pillion 0.0.7 stand-in), as a server process, found by name over the default registry kind
 * (SQLite, at a temp path) by client processes: one in the original's style, one with ours.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const env = {
  SIDECAR_REGISTRY: `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-seed-')), 'registry.db')}`,
  SIDECAR_NAMESPACE: `seed-${process.pid}`,
};

function run(
  file: string,
  args: string[] = [],
  namespace = env.SIDECAR_NAMESPACE,
): ChildProcess & { out: () => string; err: () => string } {
  const child = spawn(process.execPath, [join(here, file), ...args], {
    env: { ...process.env, ...env, SIDECAR_NAMESPACE: namespace },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return Object.assign(child, { out: () => out, err: () => err });
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

let server: ReturnType<typeof run>;

beforeAll(async () => {
  // The programs load `sidecar` as npm users do: its CommonJS entry over the built dist.
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'packages/sidecar')],
    {
      stdio: 'inherit',
    },
  );
  server = await up(run('server.cjs'));
}, 120_000);

async function up(child: ReturnType<typeof run>): Promise<ReturnType<typeof run>> {
  const deadline = Date.now() + 30_000;
  while (!child.out().includes('my-server-app is up')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the server did not start: ${child.out()} ${child.err()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

afterAll(async () => {
  server?.kill('SIGTERM');
  if (server) await exitOf(server);
});

describe("the seed's program verbatim, two processes, by name", { timeout: 60_000 }, () => {
  it('an original-style client (sidecar + burro + pillion 0.0.7) greets my-server-app', async () => {
    const client = run('client.cjs', ['ann']);
    expect(await exitOf(client), client.err()).toBe(0);
    expect(client.out()).toBe('my-server-app provides greet\nhi there, ann\n');
  });

  it("a client with this project's pillion greets the same server", async () => {
    const client = run('client-promise.cjs', ['bob']);
    expect(await exitOf(client), client.err()).toBe(0);
    expect(client.out()).toBe('hi there, bob\n');
    expect(server.exitCode).toBe(null);
  });

  it('the original-style client greets a server written with our pillion (the other direction)', async () => {
    const namespace = `${env.SIDECAR_NAMESPACE}-ours`;
    const ours = await up(run('server-promise.cjs', [], namespace));
    try {
      const client = run('client.cjs', ['cy'], namespace);
      expect(await exitOf(client), client.err()).toBe(0);
      expect(client.out()).toBe('my-server-app provides greet\nhi there, cy\n');
    } finally {
      ours.kill('SIGTERM');
      await exitOf(ours);
    }
  });
});
