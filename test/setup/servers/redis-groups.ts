import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOOPBACK, portIsFree, waitUntil } from './process.js';
import { cli, REDIS_CLI, type RedisServer, startRedis } from './redis.js';

const run = promisify(execFile);

/** How long Sentinel and a replicated Cluster wait before they call a silent master down, in ms. */
export const HA_DOWN_AFTER_MS = 1000;
/** The cluster bus listens on port + 10000, so cluster ports are picked below this range's end. */
const CLUSTER_PORT_MIN = 20_000;
const CLUSTER_PORT_SPAN = 20_000;

/** Several redis processes of one test (a Sentinel group, a Cluster) sharing one directory. */
abstract class RedisGroup {
  protected readonly nodes: RedisServer[] = [];
  protected readonly dir = mkdtempSync(join(tmpdir(), 'sidecar-redis-group-'));

  /** Sends `signal` to the process on `port` (SIGKILL waits for the exit). */
  async signal(port: number, signal: NodeJS.Signals): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no redis process of this test on port ${port}`);
    if (signal === 'SIGKILL') await node.kill('SIGKILL');
    else node.signal(signal);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts the group, or stops what started and rethrows. */
  protected static async build<G extends RedisGroup>(
    group: G,
    steps: (group: G) => Promise<void>,
  ): Promise<G> {
    try {
      await steps(group);
    } catch (err) {
      await group.stop();
      throw err;
    }
    return group;
  }
}

/** A master, a replica and three sentinels (quorum 2) on 127.0.0.1, failing over in seconds. */
export class SentinelGroup extends RedisGroup {
  readonly name = 'main';
  readonly sentinelPorts: number[] = [];

  static start(): Promise<SentinelGroup> {
    return RedisGroup.build(new SentinelGroup(), async (group) => {
      const master = await startRedis({ dir: group.dir });
      const replica = await startRedis({
        dir: group.dir,
        args: ['--replicaof', LOOPBACK, String(master.port)],
      });
      group.nodes.push(master, replica);
      const sentinel = [
        `sentinel monitor ${group.name} ${LOOPBACK} ${master.port} 2`,
        `sentinel down-after-milliseconds ${group.name} ${HA_DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${group.name} 5000`,
        '',
      ].join('\n');
      for (let i = 0; i < 3; i++) {
        const node = await startRedis({ dir: group.dir, sentinel });
        group.nodes.push(node);
        group.sentinelPorts.push(node.port);
      }
      await waitUntil(
        'the sentinels to know the replica and each other',
        async () => {
          for (const port of group.sentinelPorts) {
            const info = (await cli(port, 'SENTINEL', 'MASTER', group.name)).split('\n');
            const field = (key: string) => Number(info[info.indexOf(key) + 1]);
            if (field('num-slaves') < 1 || field('num-other-sentinels') < 2) return false;
          }
          return (await cli(replica.port, 'INFO', 'replication')).includes('master_link_status:up');
        },
        30_000,
      );
    });
  }

  /** The sentinels, as ioredis takes them. */
  get sentinels(): Array<{ host: string; port: number }> {
    return this.sentinelPorts.map((port) => ({ host: LOOPBACK, port }));
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

/** How to start a Redis Cluster. */
export interface ClusterOptions {
  /** Masters. @default 3 */
  masters?: number;
  /** Replicas per master. @default 0 */
  replicas?: number;
  /** cluster-node-timeout, in ms. @default HA_DOWN_AFTER_MS */
  nodeTimeout?: number;
}

/** A Redis Cluster on 127.0.0.1 (ports P with P + 10000, the cluster bus, free too). */
export class RedisCluster extends RedisGroup {
  static start(options: ClusterOptions = {}): Promise<RedisCluster> {
    const { masters = 3, replicas = 0, nodeTimeout = HA_DOWN_AFTER_MS } = options;
    return RedisGroup.build(new RedisCluster(), async (cluster) => {
      const taken = new Set<number>();
      for (let i = 0; i < masters * (1 + replicas); i++) {
        const port = await clusterPort(taken);
        const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`];
        args.push('--cluster-node-timeout', String(nodeTimeout));
        cluster.nodes.push(await startRedis({ dir: cluster.dir, port, args }));
      }
      const addresses = cluster.nodes.map((n) => `${LOOPBACK}:${n.port}`);
      await run(REDIS_CLI, [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
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
    });
  }

  /** The seed nodes, as ioredis takes them. */
  get seeds(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: LOOPBACK, port: n.port }));
  }

  /** The port of the master serving `key`'s slot now. */
  async masterOf(key: string): Promise<number> {
    const any = this.nodes.find(
      (n) => n.child?.exitCode === null && n.child.signalCode === null,
    ) as RedisServer;
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
