/**
 * Scale benchmark: N peers (real sidecars on TCP, watching the registry) spread over several
 * worker processes, on one SQLite file, one redis-server and a Redis Cluster. For each N it prints the time
 * to start them all, the RSS each idle peer adds (after a GC, over the worker's RSS before any
 * peer), and how long one join takes to reach every watcher (p50 / p99 over all watchers and a
 * few joins). References: the goals (1,000 peers in <= 1.5 s, <= 0.3 MB per idle peer,
 * 10,000 watchers see a join in <= 100 ms p99).
 *
 * Run: pnpm bench:scale [N ...]   (default 100 1000 10000, SQLite up to 1000; SIDECAR_SCALE_TARGETS=sqlite,redis,cluster)
 * SIDECAR_SCALE_PORT_BASE=P: peer i listens on port P + i instead of a port the kernel picks;
 * with thousands of sockets open, Linux's bind(0) searches the port range (measured here at
 * 0.1-24 ms per listen), which then dominates the start time (a cost of the TCP transport, not the registry).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRegistry, type Registry } from '@sidecar/core';
import { RedisRegistry } from '@sidecar/registry-redis';
import { RedisCluster, startRedis } from '../test/setup/servers/index.js';
import { type Comparison, median, percentile, printComparisons } from './lib/measure.js';
import type { FromWorker, ScaleTarget, ToWorker, WorkerPlan } from './scale/protocol.js';
import { wallNow } from './scale/protocol.js';

const SIZES = process.argv.slice(2).map(Number).filter(Boolean);
const TARGETS = (process.env.SIDECAR_SCALE_TARGETS ?? 'sqlite,redis,cluster').split(',');
/** Peers per worker process at most (a 2-core machine: more processes only add memory). */
const PEERS_PER_WORKER = 1250;
/** Record lifetime: an idle peer renews every 10 s. */
const TTL = 30_000;
const JOINS = 5;
const MiB = 1024 * 1024;
const WORKER = fileURLToPath(new URL('./scale/worker.ts', import.meta.url));

class Worker {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<string, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();

  constructor(plan: WorkerPlan) {
    this.#child = fork(WORKER, [JSON.stringify(plan)], {
      execArgv: [...process.execArgv, '--expose-gc', '--max-old-space-size=2048'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message: FromWorker) => {
      const kind = message.kind === 'failed' ? 'started' : message.kind;
      const waiting = this.#waiting.get(kind);
      this.#waiting.delete(kind);
      waiting?.resolve(message);
    });
    this.#child.on('exit', (code) => {
      for (const [kind, waiting] of this.#waiting)
        waiting.reject(new Error(`a worker exited (${code}) waiting for ${kind}`));
      this.#waiting.clear();
    });
  }

  /** The next message of `kind`, after sending `send`. */
  next(kind: FromWorker['kind'], send?: ToWorker): Promise<FromWorker> {
    const reply = new Promise<FromWorker>((resolve, reject) => this.#waiting.set(kind, { resolve, reject }));
    if (send) this.#child.send(send);
    return reply;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ kind: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  }
}

interface Figures {
  startMs: number;
  rssPerPeer: number;
  joinP50: number;
  joinP99: number;
  seen: number;
}

/** The registry that announces the joins the peers watch for. */
function openJoiner(target: ScaleTarget, namespace: string): Promise<Registry> {
  if (target.kind === 'sqlite') return openRegistry(target.url, { namespace });
  const options = target.kind === 'redis' ? { url: target.url } : { cluster: { nodes: target.seeds } };
  const joiner = new RedisRegistry({ ...options, namespace, sweepInterval: 60_000 });
  return joiner.start().then(() => joiner);
}

async function run(target: ScaleTarget, n: number): Promise<Figures> {
  const namespace = `scale-${n}-${randomBytes(3).toString('hex')}`;
  const workers: Worker[] = [];
  const count = Math.max(1, Math.ceil(n / PEERS_PER_WORKER));
  const loaded: Promise<FromWorker>[] = [];
  for (let w = 0; w < count; w++) {
    const first = Math.floor((w * n) / count);
    const plan: WorkerPlan = {
      target,
      namespace,
      first,
      count: Math.floor(((w + 1) * n) / count) - first,
      ttl: TTL,
      concurrency: 100,
      portBase: Number(process.env.SIDECAR_SCALE_PORT_BASE ?? 0),
    };
    const worker = new Worker(plan);
    loaded.push(worker.next('loaded'));
    workers.push(worker);
  }
  let joiner: Registry | undefined;
  try {
    const base = (await Promise.all(loaded)).map((m) => (m.kind === 'loaded' ? m.rss : 0));
    const t0 = wallNow();
    const started = await Promise.all(workers.map((w) => w.next('started', { kind: 'start' })));
    const startMs = wallNow() - t0;
    for (const s of started)
      if (s.kind === 'failed') throw new Error(`a worker failed after ${s.started} peers: ${s.error}`);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // idle: the start's garbage and sockets settle
    const measured = await Promise.all(workers.map((w) => w.next('measured', { kind: 'measure' })));
    const rss = measured.reduce((sum, m, i) => sum + (m.kind === 'measured' ? m.rss - (base[i] ?? 0) : 0), 0);

    joiner = await openJoiner(target, namespace);
    const latencies: number[] = [];
    let seen = 0;
    for (let j = 0; j < JOINS; j++) {
      const instanceId = randomBytes(9).toString('base64url');
      await Promise.all(workers.map((w) => w.next('expecting', { kind: 'expect', instanceId })));
      const sent = wallNow();
      await joiner.register(
        {
          name: `joiner-${j}`,
          instanceId,
          namespace,
          endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 9 }],
          methods: [],
          metadata: {},
          registeredAt: Date.now(),
        },
        TTL,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.max(1000, n / 10)));
      const reports = await Promise.all(
        workers.map((w) => w.next('arrivals', { kind: 'report', instanceId })),
      );
      for (const r of reports) if (r.kind === 'arrivals') for (const t of r.times) latencies.push(t - sent);
      seen += reports.reduce((sum, r) => sum + (r.kind === 'arrivals' ? r.times.length : 0), 0);
      await joiner.deregister(instanceId);
    }
    return {
      startMs,
      rssPerPeer: rss / n / MiB,
      joinP50: median(latencies),
      joinP99: percentile(latencies, 99),
      seen: seen / JOINS,
    };
  } finally {
    await joiner?.stop();
    await Promise.all(workers.map((w) => w.stop()));
  }
}

function rows(label: string, n: number, f: Figures): Comparison[] {
  const at = `${label}, N=${n.toLocaleString('en')}`;
  return [
    {
      what: `${at}: start all peers`,
      unit: 'ms',
      ours: f.startMs,
      reference: (1500 * n) / 1000,
      referenceLabel: 'goal: 1.5 ms per peer',
      better: 'lower',
      goal: '<= 1.0',
    },
    {
      what: `${at}: RSS per idle peer`,
      unit: 'MB',
      ours: f.rssPerPeer,
      reference: 0.3,
      referenceLabel: 'goal',
      better: 'lower',
      goal: '<= 1.0',
    },
    {
      what: `${at}: one join seen by ${Math.round(f.seen)}/${n} watchers, p99 (p50 ${f.joinP50.toFixed(1)} ms)`,
      unit: 'ms',
      ours: f.joinP99,
      reference: 100,
      referenceLabel: 'goal p99',
      better: 'lower',
      goal: '<= 1.0',
    },
  ];
}

/**
 * Default sizes per registry: the N = 100, 1,000, 10,000 on Redis and Redis Cluster; on
 * SQLite (one file, a machine's own peers) up to 1,000.
 */
const sizesOf = (label: string): number[] =>
  SIZES.length > 0 ? SIZES : label === 'sqlite' ? [100, 1000] : [100, 1000, 10_000];
const sqliteDir = mkdtempSync(join(tmpdir(), 'sidecar-scale-'));
const redis = TARGETS.includes('redis') ? await startRedis({ args: ['--maxclients', '20000'] }) : undefined;
const cluster = TARGETS.includes('cluster') ? await RedisCluster.start({ masters: 3 }) : undefined;
try {
  for (const [label, target] of [
    [
      'sqlite',
      TARGETS.includes('sqlite') && ({ kind: 'sqlite', url: `sqlite:${sqliteDir}/registry.db` } as const),
    ],
    ['redis', redis && ({ kind: 'redis', url: redis.url } as const)],
    ['redis cluster', cluster && ({ kind: 'cluster', seeds: cluster.seeds } as const)],
  ] as const) {
    if (!target) continue;
    let largest = 0;
    for (const n of sizesOf(label)) {
      try {
        const figures = await run(target, n);
        largest = n;
        printComparisons(
          `scale: ${label}, N=${n} (${Math.ceil(n / PEERS_PER_WORKER)} processes)`,
          rows(label, n, figures),
        );
      } catch (err) {
        console.log(`\n${label}, N=${n} did not run: ${(err as Error).message}`);
        console.log(`largest N that ran on ${label}: ${largest}`);
        break;
      }
    }
  }
} finally {
  await cluster?.stop();
  await redis?.stop();
  rmSync(sqliteDir, { recursive: true, force: true });
}
