import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, requireBinary, spawnServer, waitUntil } from '../servers.js';

const run = promisify(execFile);

/** Where Debian installs each PostgreSQL major version: /usr/lib/postgresql/<major>/bin. */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/**
 * The PostgreSQL server binaries: SIDECAR_TEST_PG_BIN_DIR if set, else the newest
 * /usr/lib/postgresql/<major>/bin holding `postgres` (15 on Debian 12, 17 on Debian 13, ...),
 * else the Debian 12 path (the tests then fail saying what to install).
 */
export function findPgBin(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.SIDECAR_TEST_PG_BIN_DIR) return env.SIDECAR_TEST_PG_BIN_DIR;
  let majors: string[] = [];
  try {
    majors = readdirSync(DEBIAN_PG_ROOT).filter((d) => /^\d+(\.\d+)?$/.test(d));
  } catch {
    // no PostgreSQL installed
  }
  majors.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  for (const major of majors) {
    const bin = join(DEBIAN_PG_ROOT, major, 'bin');
    if (existsSync(join(bin, 'postgres'))) return bin;
  }
  return join(DEBIAN_PG_ROOT, '15', 'bin');
}

/** Where the PostgreSQL binaries live (see findPgBin). */
export const PG_BIN = findPgBin();

/** A throwaway PostgreSQL server on 127.0.0.1 with its own data directory. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication). */
  url: string;
  port: number;
  dataDir: string;
  /** Crashes the server (SIGQUIT: immediate shutdown, no checkpoint) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory; resolves when it accepts connections. */
  restart(): Promise<void>;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

/** The uid/gid to run initdb and postgres as: `postgres` when we are root (initdb refuses root). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Initializes a data directory and starts `postgres` on a free port (fsync off, unix socket in
 * the temp dir). Used by the global setup and by tests that need a server of their own to kill.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const install = 'apt-get install -y postgresql';
  requireBinary(join(PG_BIN, 'initdb'), install);
  requireBinary(join(PG_BIN, 'postgres'), install);
  requireBinary(join(PG_BIN, 'pg_isready'), install);
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  await run(
    join(PG_BIN, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
    {
      ...user,
      cwd: dir,
    },
  );
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = () => '';

  const launch = async () => {
    const server = spawnServer(
      join(PG_BIN, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=400',
      ],
      { ...user, cwd: dir },
    );
    child = server.child;
    output = server.output;
    const alive = child;
    await waitUntil(`postgres on 127.0.0.1:${port}`, async () => {
      if (alive.exitCode !== null) throw new Error(`postgres exited: ${output()}`);
      await run(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres']);
      return true;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${output()}`);
    });
  };

  const signal = async (sig: NodeJS.Signals) => {
    const current = child;
    if (!current) return;
    const done = exited(current);
    current.kill(sig);
    const timer = setTimeout(() => current.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (err) {
    await signal('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    kill: () => signal('SIGQUIT'),
    restart: launch,
    stop: async () => {
      await signal('SIGINT'); // fast shutdown: does not wait for clients to disconnect
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Global setup: one shared server for every test file; published as SIDECAR_TEST_POSTGRES_URL. */
export default async function start(): Promise<() => Promise<void>> {
  const server = await startPostgres();
  process.env.SIDECAR_TEST_POSTGRES_URL = server.url;
  process.env.SIDECAR_TEST_PG_BIN = PG_BIN;
  process.env.SIDECAR_TEST_PG_DATA = server.dataDir;
  return server.stop;
}
