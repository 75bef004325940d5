import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, requireBinary, spawnServer, stopProcess, waitUntil } from '../servers.js';

const run = promisify(execFile);
const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
const INSTALL = 'apt-get update && apt-get install -y redis-server';
const CLUSTER_MASTERS = 3;
/** The cluster bus listens on port + 10000, so cluster ports stay below this. */
const CLUSTER_PORT_MIN = 20_000;
const CLUSTER_PORT_SPAN = 20_000;

type Stop = () => Promise<void>;

/** Arguments for an ephemeral redis-server on 127.0.0.1 (no persistence, foreground). */
export function redisArgs(port: number, dir: string, extra: string[] = []): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    dir,
    ...extra,
  ];
}

/** True once the server answers (a NOAUTH refusal counts: a server with a password is up too). */
async function answers(port: number): Promise<boolean> {
  const { stdout, stderr } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), 'PING']);
  return stdout.trim() === 'PONG' || /NOAUTH/.test(stdout + stderr);
}

/** Starts one redis-server and waits until it answers PING. */
export async function startRedis(port: number, dir: string, extra: string[] = []): Promise<Stop> {
  requireBinary(REDIS_SERVER, INSTALL);
  requireBinary(REDIS_CLI, INSTALL);
  const { child, output } = spawnServer(REDIS_SERVER, redisArgs(port, dir, extra));
  try {
    await waitUntil(`redis-server on port ${port}`, () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output()}`);
      return answers(port);
    });
  } catch (err) {
    await stopProcess(child);
    throw new Error(`redis-server did not start: ${(err as Error).message}\n${output()}`);
  }
  return () => stopProcess(child);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port P with P and P + 10000 (the cluster bus) both free. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = CLUSTER_PORT_MIN + Math.floor(Math.random() * CLUSTER_PORT_SPAN);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

async function startCluster(dir: string): Promise<{ nodes: string; stop: Stop }> {
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < CLUSTER_MASTERS; i++) ports.push(await clusterPort(taken));
  const stops = await Promise.all(
    ports.map((port) =>
      startRedis(port, dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
      ]),
    ),
  );
  const stop = async () => {
    await Promise.all(stops.map((s) => s()));
  };
  try {
    const addresses = ports.map((p) => `127.0.0.1:${p}`);
    await run(REDIS_CLI, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await waitUntil(`cluster state ok on ${port}`, async () => {
        const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), 'CLUSTER', 'INFO']);
        return stdout.includes('cluster_state:ok');
      });
    }
    return { nodes: addresses.join(','), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Starts a standalone redis-server (SIDECAR_TEST_REDIS_URL) and a 3-master Redis Cluster
 * (SIDECAR_TEST_REDIS_CLUSTER_NODES, comma-separated host:port) on 127.0.0.1.
 */
export default async function start(): Promise<Stop> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecar-redis-'));
  const port = await freePort();
  const stopStandalone = await startRedis(port, dir);
  let cluster: { nodes: string; stop: Stop };
  try {
    cluster = await startCluster(dir);
  } catch (err) {
    await stopStandalone();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  process.env.SIDECAR_TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
  process.env.SIDECAR_TEST_REDIS_CLUSTER_NODES = cluster.nodes;
  return async () => {
    await Promise.all([stopStandalone(), cluster.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
}
