import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exited, freePort, LOOPBACK, requireBinary, spawnServer, stopWith, waitUntil } from './process.js';
import type { KillableServer } from './redis.js';

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

/** How to start a PostgreSQL server. */
export interface PostgresOptions {
  /** Address to listen on: 127.0.0.1, or a lab bridge address (the lab's /24 is then trusted too). @default '127.0.0.1' */
  host?: string;
}

/** A throwaway PostgreSQL server with its own data directory (fresh initdb, trust authentication). */
export interface PostgresServer extends KillableServer {
  /** `postgres://postgres@HOST:PORT/postgres`. */
  readonly url: string;
  readonly host: string;
  readonly dataDir: string;
}

/** The uid/gid to run initdb and postgres as: `postgres` when we are root (initdb refuses root). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/**
 * Initializes a data directory and starts `postgres` on a free port (fsync off, unix socket in
 * the temp dir). `kill()` crashes it (SIGQUIT by default: immediate shutdown, no checkpoint),
 * `restart()` starts it again on the same data directory and port, `restartEmpty()` after a
 * fresh initdb; `stop()` shuts it down and deletes its directory.
 *
 * @example
 * ```ts
 * const pg = await startPostgres();
 * await pg.kill(); await pg.restart();
 * ```
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  for (const bin of ['initdb', 'postgres', 'pg_isready'])
    requireBinary(join(PG_BIN, bin), 'apt-get install -y postgresql');
  const host = options.host ?? LOOPBACK;
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  const initdb = async () => {
    const args = ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'];
    await run(join(PG_BIN, 'initdb'), args, { ...user, cwd: dir });
    // Off loopback: trust the lab's own subnet (it exists only inside the test's namespaces).
    if (host !== LOOPBACK)
      appendFileSync(join(dataDir, 'pg_hba.conf'), `host all all ${host.replace(/\.\d+$/, '.0')}/24 trust\n`);
  };
  let child: ChildProcess | undefined;
  let port = 0;
  const args = () => [
    ...['-D', dataDir, '-p', String(port), '-k', dir, '-c', `listen_addresses=${host}`],
    ...['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=400'],
  ];
  const launch = async () => {
    // After a SIGKILL, backends may hold the old shared memory a moment: retry the start.
    await waitUntil(
      `postgres on ${host}:${port}`,
      async () => {
        const server = spawnServer(join(PG_BIN, 'postgres'), args(), { ...user, cwd: dir });
        child = server.child;
        const current = child;
        try {
          await waitUntil(
            'pg_isready',
            async () => {
              if (current.exitCode !== null) throw new Error(`postgres exited: ${server.output()}`);
              await run(join(PG_BIN, 'pg_isready'), ['-h', host, '-p', String(port), '-U', 'postgres']);
              return true;
            },
            10_000,
          );
          return true;
        } catch (err) {
          current.kill('SIGKILL');
          await exited(current);
          throw err;
        }
      },
      30_000,
    );
  };
  try {
    await initdb();
    port = await freePort(host);
    await launch();
  } catch (err) {
    await stopWith(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const kill = async (signal: NodeJS.Signals = 'SIGQUIT') => {
    const current = child;
    current?.kill(signal);
    await exited(current);
  };
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    host,
    port,
    dataDir,
    kill,
    restart: launch,
    restartEmpty: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await initdb();
      await launch();
    },
    stop: async () => {
      await stopWith(child, 'SIGINT'); // fast shutdown: does not wait for clients to disconnect
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
