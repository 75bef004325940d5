import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exited, freePort, LOOPBACK, requireBinary, spawnServer, waitUntil } from './process.js';

const run = promisify(execFile);
export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';
const INSTALL = 'apt-get update && apt-get install -y redis-server';

/**
 * A server of a test's own, to kill with a signal mid-traffic and start again: with its data
 * (`restart`) or empty (`restartEmpty`). Redis and PostgreSQL servers both are one.
 */
export interface KillableServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server with `signal` (Redis: SIGKILL; PostgreSQL: SIGQUIT, by default) and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the data it had (Redis: only with `appendOnly`). */
  restart(): Promise<void>;
  /** Starts it again on the same port with no data at all. */
  restartEmpty(): Promise<void>;
  /** Stops it and deletes its files. */
  stop(): Promise<void>;
}

/** How to start one redis-server (or Sentinel). */
export interface RedisOptions {
  /** Address to listen on: 127.0.0.1, or a lab bridge address (a random password is then required). @default '127.0.0.1' */
  host?: string;
  /** Every write goes to an append-only file (fsync always), so a SIGKILLed server comes back with its data. @default false */
  appendOnly?: boolean;
  /** More redis-server arguments (users, cluster mode, replicaof...). @default [] */
  args?: string[];
  /** Working directory, shared by a group's nodes. @default a new temp dir, removed by stop() */
  dir?: string;
  /** Port to listen on. @default a free one */
  port?: number;
  /** Run as a Sentinel with these config lines (after port, bind and dir). @default undefined */
  sentinel?: string;
}

/** One redis-server (or Sentinel) process of the tests. */
export interface RedisServer extends KillableServer {
  readonly host: string;
  readonly dir: string;
  /** The running process (undefined before the first start). */
  readonly child: ChildProcess | undefined;
  /** Sends a signal without waiting (SIGSTOP, SIGCONT...). */
  signal(signal: NodeJS.Signals): void;
}

/** Runs redis-cli against host:port and returns its trimmed output; bounded (a frozen server never answers). */
export function cli(port: number, ...args: string[]): Promise<string> {
  return cliOn(LOOPBACK, port, [], args);
}

async function cliOn(host: string, port: number, auth: string[], args: string[]): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ['-h', host, '-p', String(port), ...auth, ...args], {
    timeout: 1000,
  });
  return stdout.trim();
}

/**
 * Starts a redis-server (or Sentinel) and waits until it answers PING (a NOAUTH refusal counts:
 * a server with users is up too). Not persistent unless `appendOnly`.
 *
 * @example
 * ```ts
 * const redis = await startRedis({ appendOnly: true });
 * await redis.kill(); await redis.restart(); // its data is back
 * ```
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  requireBinary(REDIS_SERVER, INSTALL);
  requireBinary(REDIS_CLI, INSTALL);
  const host = options.host ?? LOOPBACK;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sidecar-redis-'));
  const port = options.port ?? (await freePort(host));
  // Off loopback, Redis' protected mode refuses clients without a password.
  const password = host === LOOPBACK ? '' : randomBytes(12).toString('hex');
  const auth = password ? ['-a', password, '--no-auth-warning'] : [];
  let args: string[];
  if (options.sentinel !== undefined) {
    const file = join(dir, `sentinel-${port}.conf`);
    writeFileSync(file, `port ${port}\nbind ${host}\ndir ${dir}\n${options.sentinel}`);
    args = [file, '--sentinel'];
  } else {
    args = [
      ...['--port', String(port), '--bind', host, '--save', '', '--daemonize', 'no', '--dir', dir],
      ...(password ? ['--requirepass', password] : []),
      ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      ...(options.args ?? []),
    ];
  }
  let child: ChildProcess | undefined;
  const launch = async () => {
    const server = spawnServer(REDIS_SERVER, args);
    child = server.child;
    const current = child;
    try {
      await waitUntil(`redis-server on ${host}:${port}`, async () => {
        if (current.exitCode !== null) throw new Error(`redis-server exited: ${server.output()}`);
        const reply = await cliOn(host, port, auth, ['PING']).catch(
          (err: { stdout?: string }) => err.stdout ?? '',
        );
        return reply === 'PONG' || /NOAUTH/.test(reply);
      });
    } catch (err) {
      current.kill('SIGKILL');
      await exited(current);
      throw new Error(`redis-server did not start: ${(err as Error).message}\n${server.output()}`);
    }
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const current = child;
    if (signal === 'SIGKILL') current?.kill('SIGCONT'); // a frozen process dies all the same
    current?.kill(signal);
    await exited(current);
  };
  try {
    await launch();
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host,
    port,
    dir,
    url: password ? `redis://:${password}@${host}:${port}` : `redis://${host}:${port}`,
    get child() {
      return child;
    },
    signal: (signal) => void child?.kill(signal),
    kill,
    restart: launch,
    restartEmpty: async () => {
      rmSync(join(dir, 'appendonlydir'), { recursive: true, force: true });
      await launch();
    },
    stop: async () => {
      await kill('SIGKILL');
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
