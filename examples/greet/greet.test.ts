/** Runs the greet example as two separate processes, over each registry. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

function run(
  file: string,
  env: Record<string, string>,
  args: string[] = [],
): ChildProcess & { out: () => string } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@sidecar/source', join(here, file), ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return Object.assign(child, { out: () => out });
}

const registries = () => ({
  sqlite: `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-greet-')), 'registry.db')}`,
  redis: process.env.SIDECAR_TEST_REDIS_URL,
  postgres: process.env.SIDECAR_TEST_POSTGRES_URL,
});

describe('the greet example: two processes talking by name', { timeout: 60_000 }, () => {
  for (const [kind, url] of Object.entries(registries())) {
    it(`works over the ${kind} registry`, async () => {
      expect(url, 'the test setup starts redis-server and postgres').toBeTruthy();
      const env = { SIDECAR_REGISTRY: url as string, SIDECAR_NAMESPACE: `greet-${kind}-${process.pid}` };
      const server = run('server.ts', env);
      try {
        const deadline = Date.now() + 30_000;
        while (!server.out().includes('is up')) {
          if (Date.now() > deadline || server.exitCode !== null)
            throw new Error(`server did not start: ${server.out()}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const client = run('client.ts', env, ['ann']);
        const code = await new Promise((resolve) => client.once('exit', resolve));
        expect(code).toBe(0);
        expect(client.out()).toBe('callback: hi there, ann\npromise: hi there, ann again\n');
        // The example stops on SIGTERM with stopOnSignals(): deregistered, exit code 0.
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        expect(await exited).toBe(0);
      } finally {
        if (server.exitCode === null) server.kill('SIGKILL');
      }
    });
  }
});
