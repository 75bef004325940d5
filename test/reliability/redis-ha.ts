import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary, spawnServer, waitUntil } from '../setup/servers.js';
import { redisArgs } from '../setup/services/redis.js';
import { freePortOn } from './servers.js';

const run = promisify(execFile);
const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
const INSTALL = 'apt-get install -y redis-server';

/** How long Sentinel and Cluster wait before they call a silent master down, in ms. */
export const HA_DOWN_AFTER_MS = 1000;

/** One redis-server (or sentinel) process of a test, by port. */
interface Node {
  port: number;
  child: ChildProcess;
}

/** Runs redis-cli against 127.0.0.1:port and returns its output. */
export function cli(port: number, ...args: string[]): Promise<string> {
  // Bounded: a frozen (SIGSTOPped) server accepts the connection and never answers.
  return run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 1000 }).then((r) =>
    r.stdout.trim(),
  );
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startNode(dir: string, extra: string[], sentinelConfig?: string): Promise<Node> {
  requireBinary(REDIS_SERVER, INSTALL);
  const port = await freePortOn('127.0.0.1');
  let args: string[];
  if (sentinelConfig !== undefined) {
    const file = join(dir, `sentinel-${port}.conf`);
    writeFileSync(file, `port ${port}\nbind 127.0.0.1\ndir ${dir}\n${sentinelConfig}`);
    args = [file, '--sentinel'];
  } else {
    args = redisArgs(port, dir, extra);
  }
  const { child, output } = spawnServer(REDIS_SERVER, args);
  await waitUntil(`redis on ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`redis exited: ${output()}`);
    return (await cli(port, 'PING')) === 'PONG';
  });
  return { port, child };
}

/** Common parts of a Sentinel group and a Cluster with replicas. */
abstract class RedisHa {
  protected readonly nodes: Node[] = [];
  protected readonly dir = mkdtempSync(join(tmpdir(), 'sidecar-rel-ha-'));

  /** Sends `signal` to the redis-server on `port` (SIGKILL waits for the exit). */
  async signal(port: number, signal: NodeJS.Signals): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no redis-server of this test on port ${port}`);
    node.child.kill(signal);
    if (signal === 'SIGKILL') await exited(node.child);
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      node.child.kill('SIGCONT');
      node.child.kill('SIGKILL');
    }
    await Promise.all(this.nodes.map((n) => exited(n.child)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A master, a replica and three sentinels (quorum 2) on 127.0.0.1, failing over in seconds. */
export class SentinelGroup extends RedisHa {
  readonly name = 'main';
  sentinelPorts: number[] = [];

  static async start(): Promise<SentinelGroup> {
    const group = new SentinelGroup();
    try {
      const master = await startNode(group.dir, []);
      group.nodes.push(master);
      const replica = await startNode(group.dir, ['--replicaof', '127.0.0.1', String(master.port)]);
      group.nodes.push(replica);
      const config = [
        `sentinel monitor ${group.name} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${group.name} ${HA_DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${group.name} 5000`,
        '',
      ].join('\n');
      for (let i = 0; i < 3; i++) {
        const sentinel = await startNode(group.dir, [], config);
        group.nodes.push(sentinel);
        group.sentinelPorts.push(sentinel.port);
      }
      await waitUntil(
        'the sentinels to know the replica and each other',
        async () => {
          for (const port of group.sentinelPorts) {
            const info = await cli(port, 'SENTINEL', 'MASTER', group.name);
            const field = (key: string) => Number(info.split('\n')[info.split('\n').indexOf(key) + 1]);
            if (field('num-slaves') < 1 || field('num-other-sentinels') < 2) return false;
          }
          return (await cli(replica.port, 'INFO', 'replication')).includes('master_link_status:up');
        },
        30_000,
      );
    } catch (err) {
      await group.stop();
      throw err;
    }
    return group;
  }

  /** The sentinels, as ioredis takes them. */
  get sentinels(): Array<{ host: string; port: number }> {
    return this.sentinelPorts.map((port) => ({ host: '127.0.0.1', port }));
  }

  /** The port of the current master, as the first sentinel sees it. */
  async masterPort(): Promise<number> {
    const reply = await cli(
      this.sentinelPorts[0] as number,
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      this.name,
    );
    return Number(reply.split('\n')[1]);
  }
}

/** Three masters with a replica each, cluster-node-timeout 1 s, on 127.0.0.1 (ports P and P+10000). */
export class ReplicatedCluster extends RedisHa {
  static async start(): Promise<ReplicatedCluster> {
    const cluster = new ReplicatedCluster();
    try {
      for (let i = 0; i < 6; i++) {
        // The cluster bus listens on port + 10000: pick ports whose bus port is free too.
        let node: Node | undefined;
        while (!node) {
          const candidate = await startNode(cluster.dir, [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${i}-${Date.now()}.conf`,
            '--cluster-node-timeout',
            String(HA_DOWN_AFTER_MS),
          ]).catch(() => undefined);
          if (candidate && candidate.port < 55_000) node = candidate;
          else if (candidate) candidate.child.kill('SIGKILL');
        }
        cluster.nodes.push(node);
      }
      const addresses = cluster.nodes.map((n) => `127.0.0.1:${n.port}`);
      await run(REDIS_CLI, ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
      await waitUntil(
        'cluster state ok with every replica in sync',
        async () => {
          for (const node of cluster.nodes) {
            if (!(await cli(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
            const replication = await cli(node.port, 'INFO', 'replication');
            if (replication.includes('role:slave') && !replication.includes('master_link_status:up'))
              return false;
          }
          return true;
        },
        30_000,
      );
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** The seed nodes, as ioredis takes them. */
  get seeds(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** The port of the master serving `key`'s slot now. */
  async masterOf(key: string): Promise<number> {
    const any = this.nodes.find((n) => n.child.exitCode === null && n.child.signalCode === null) as Node;
    const slot = Number(await cli(any.port, 'CLUSTER', 'KEYSLOT', key));
    for (const line of (await cli(any.port, 'CLUSTER', 'NODES')).split('\n')) {
      const parts = line.split(' ');
      if (!parts[2]?.includes('master') || parts[2].includes('fail')) continue;
      for (const range of parts.slice(8)) {
        const [from, to] = range.split('-').map(Number);
        if (from !== undefined && slot >= from && slot <= (to ?? from))
          return Number(parts[1]?.split(':')[1]?.split('@')[0]);
      }
    }
    throw new Error(`no master serves the slot of ${key}`);
  }
}
