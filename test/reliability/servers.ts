import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary, spawnServer, waitUntil } from '../setup/servers.js';
import { PG_BIN } from '../setup/services/postgres.js';

const run = promisify(execFile);
const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';

/**
 * A registry server of a test's own, to kill with a signal mid-traffic and start again: with its
 * data (`restart`) or empty (`restartEmpty`). Same approach as test/setup/services/*.ts.
 */
export interface KillableServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server process with `signal` (default SIGKILL) and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the data it had (Redis: its append-only file). */
  restart(): Promise<void>;
  /** Starts it again on the same port with no data at all. */
  restartEmpty(): Promise<void>;
  /** Stops it and deletes its files. */
  stop(): Promise<void>;
}

/** A free TCP port on `host` (a loopback or lab bridge address only). */
export function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * A redis-server on `host` (127.0.0.1 or a lab bridge address). With `persist`, every write
 * goes to an append-only file (fsync always), so a SIGKILLed server comes back with its data.
 * Off loopback it requires a random password (Redis' protected mode refuses other clients).
 */
export async function startKillableRedis(host = '127.0.0.1', persist = true): Promise<KillableServer> {
  requireBinary(REDIS_SERVER, 'apt-get install -y redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-rel-redis-'));
  const port = await freePortOn(host);
  const password = host === '127.0.0.1' ? '' : randomBytes(12).toString('hex');
  const auth = password ? ['-a', password, '--no-auth-warning'] : [];
  const args = [
    ...['--port', String(port), '--bind', host, '--save', '', '--daemonize', 'no', '--dir', dir],
    ...(password ? ['--requirepass', password] : []),
    ...(persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  let child: ChildProcess | undefined;
  const launch = async () => {
    const server = spawnServer(REDIS_SERVER, args);
    child = server.child;
    const current = child;
    await waitUntil(`redis-server on ${host}:${port}`, async () => {
      if (current.exitCode !== null) throw new Error(`redis-server exited: ${server.output()}`);
      const { stdout } = await run(REDIS_CLI, ['-h', host, '-p', String(port), ...auth, 'PING']);
      return stdout.trim() === 'PONG';
    });
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const current = child;
    current?.kill(signal);
    await exited(current);
  };
  await launch();
  return {
    url: password ? `redis://:${password}@${host}:${port}` : `redis://${host}:${port}`,
    port,
    kill,
    restart: launch,
    restartEmpty: async () => {
      rmSync(join(dir, 'appendonlydir'), { recursive: true, force: true });
      await launch();
    },
    stop: async () => {
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/**
 * A postgres server on `host` (127.0.0.1, or a lab bridge address: clients of the lab's /24
 * are then trusted too) whose postmaster can be SIGKILLed and restarted.
 */
export async function startKillablePostgres(host = '127.0.0.1'): Promise<KillableServer> {
  for (const bin of ['initdb', 'postgres', 'pg_isready'])
    requireBinary(join(PG_BIN, bin), 'apt-get install -y postgresql');
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-rel-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const initdb = async () => {
    await run(
      join(PG_BIN, 'initdb'),
      ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-locale', '--no-sync'],
      {
        ...user,
        cwd: dir,
      },
    );
    // Off loopback: trust the lab's own subnet (it exists only inside the test's namespaces).
    if (host !== '127.0.0.1')
      appendFileSync(join(data, 'pg_hba.conf'), `host all all ${host.replace(/\.\d+$/, '.0')}/24 trust\n`);
  };
  await initdb();
  const port = await freePortOn(host);
  let child: ChildProcess | undefined;
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', `listen_addresses=${host}`];
  const settings = ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'];
  const launch = async () => {
    // After a SIGKILL, backends may hold the old shared memory a moment: retry the start.
    await waitUntil(
      `postgres on ${host}:${port}`,
      async () => {
        const server = spawnServer(join(PG_BIN, 'postgres'), [...args, ...settings], { ...user, cwd: dir });
        child = server.child;
        const current = child;
        try {
          await waitUntil(
            'pg_isready',
            async () => {
              if (current.exitCode !== null) throw new Error(server.output());
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
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const current = child;
    current?.kill(signal);
    await exited(current);
  };
  await launch();
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    kill,
    restart: launch,
    restartEmpty: async () => {
      rmSync(data, { recursive: true, force: true });
      await initdb();
      await launch();
    },
    stop: async () => {
      const current = child;
      current?.kill('SIGINT');
      const timer = setTimeout(() => current?.kill('SIGKILL'), 5000);
      await exited(current);
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
