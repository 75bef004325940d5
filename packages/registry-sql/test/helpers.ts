import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** The shared test PostgreSQL server (started by the global setup through test/setup/servers). */
export function postgresUrl(): string {
  const url = process.env.SIDECAR_TEST_POSTGRES_URL;
  if (!url)
    throw new Error(
      'SIDECAR_TEST_POSTGRES_URL is not set: run the tests with vitest (its global setup starts postgres)',
    );
  return url;
}

/** A schema name no other test uses: an empty database as far as the registry is concerned. */
export function freshSchema(): string {
  return `t_${randomBytes(5).toString('hex')}`;
}

const dirs: string[] = [];

/** A path for a new SQLite file in a new temp directory (removed by removeTempDirs). */
export function tempDbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-sql-'));
  dirs.push(dir);
  return join(dir, 'registry.db');
}

/** Removes every directory made by tempDbPath. */
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A child process running fixtures/child.ts, with its stdout parsed as JSON lines. */
export interface Child {
  process: ChildProcess;
  lines: unknown[];
  /** Resolves with the first line (seen or future) matching `test`; rejects if the child exits first. */
  waitFor(test: (line: Record<string, unknown> | string) => boolean, timeoutMs?: number): Promise<unknown>;
  /** Resolves when the child has exited, with its exit code. */
  exited: Promise<number | null>;
  stderr(): string;
}

/** Spawns `node --import tsx --conditions=@sidecar/source fixtures/child.ts ...args`. */
export function spawnChild(args: string[]): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@sidecar/source', join(here, 'fixtures', 'child.ts'), ...args],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: unknown[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl = buffer.indexOf('\n');
    while (nl !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push(line);
      }
      nl = buffer.indexOf('\n');
    }
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  exited.then(() => {
    done = true;
    for (const wake of waiters) wake();
  });
  const waitFor = (test: (line: Record<string, unknown> | string) => boolean, timeoutMs = 15_000) =>
    new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          finish(
            new Error(`timed out waiting for child output; got ${JSON.stringify(lines)}; stderr: ${errors}`),
          ),
        timeoutMs,
      );
      const check = () => {
        const hit = lines.find((l) => test(l as Record<string, unknown> | string));
        if (hit !== undefined) finish(undefined, hit);
        else if (done) finish(new Error(`child exited; output ${JSON.stringify(lines)}; stderr: ${errors}`));
      };
      const finish = (err?: Error, value?: unknown) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(value);
      };
      waiters.add(check);
      check();
    });
  return { process: child, lines, waitFor, exited, stderr: () => errors };
}
