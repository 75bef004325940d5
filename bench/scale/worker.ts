/**
 * One process of bench/scale.ts: starts its share of the peers (real sidecars on TCP, one SQLite,
 * Redis or Redis Cluster registry each), then answers the parent: RSS when idle, and when each of its
 * peers saw a given join.
 */
import { createSidecar, type PeerInfo } from '@sidecar/core';
import { redisRegistry } from '@sidecar/registry-redis';
import { type FromWorker, type ToWorker, type WorkerPlan, wallNow } from './protocol.js';

type Peer = ReturnType<typeof createSidecar>;

const plan = JSON.parse(process.argv[2] as string) as WorkerPlan;
const send = (message: FromWorker) => process.send?.(message);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

// One options object per process: registries sharing it share one subscriber (see feedKey).
// Generous timeouts: at N = 10,000 two cores run every worker, Redis and the heartbeats.
const timeouts = { connectTimeout: 60_000, commandTimeout: 30_000 };
const target = plan.target;
const registryOptions =
  target.kind === 'cluster'
    ? { cluster: { nodes: target.seeds }, ...timeouts }
    : { url: target.url, ...timeouts };
/** SQLite: the peers of a process share one connection to the file (core shares it by path). */
const registryOf = () => (target.kind === 'sqlite' ? target.url : redisRegistry(registryOptions));
const peers: Peer[] = [];
let expected: string | undefined;
let arrivals: number[] = [];

function onJoin(peer: PeerInfo): void {
  if (peer.instanceId === expected) arrivals.push(wallNow());
}

async function start(): Promise<void> {
  const t0 = wallNow();
  try {
    for (let i = 0; i < plan.count; i += plan.concurrency) {
      const batch: Peer[] = [];
      for (let j = i; j < Math.min(plan.count, i + plan.concurrency); j++) {
        const peer = createSidecar({
          name: `peer-${plan.first + j}`,
          namespace: plan.namespace,
          registry: registryOf(),
          transports: ['tcp'],
          transportOptions: {
            tcp: { host: '127.0.0.1', ...(plan.portBase ? { port: plan.portBase + plan.first + j } : {}) },
          },
          ttl: plan.ttl,
        });
        peer.on('join', onJoin);
        batch.push(peer);
      }
      await Promise.all(batch.map((p) => p.start()));
      peers.push(...batch);
    }
    send({ kind: 'started', ms: wallNow() - t0 });
  } catch (err) {
    send({ kind: 'failed', error: String(err), started: peers.length });
  }
}

process.on('message', async (message: ToWorker) => {
  switch (message.kind) {
    case 'start':
      await start();
      break;
    case 'measure':
      gc();
      send({ kind: 'measured', rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed });
      break;
    case 'expect':
      expected = message.instanceId;
      arrivals = [];
      send({ kind: 'expecting' });
      break;
    case 'report':
      send({ kind: 'arrivals', instanceId: message.instanceId, times: arrivals });
      break;
    case 'stop':
      await Promise.all(peers.map((p) => p.stop().catch(() => {})));
      process.exit(0);
  }
});

gc();
send({ kind: 'loaded', rss: process.memoryUsage().rss });
