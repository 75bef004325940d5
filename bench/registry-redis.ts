/**
 * Redis registry benchmark: ours vs raw ioredis on the same redis-server, in the same run.
 * Run: pnpm exec tsx --conditions=@sidecar/source bench/registry-redis.ts
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { RecordInput } from '@sidecar/core';
import { RedisRegistry } from '@sidecar/registry-redis';
import { startRedis } from '../test/setup/servers/index.js';
import { type Comparison, median, percentile, printComparisons } from './lib/measure.js';

type RawClient = ReturnType<RedisRegistry['client']['duplicate']>;

const LOOKUPS = 3000;
const INSTANCES = 1000;
const BIG = 10_000;
const LIST_RUNS = 15;
const EVENTS = 300;
const BATCH = 100;
const RAW_CHANNEL = 'bench:raw';

function now(): number {
  return performance.timeOrigin + performance.now();
}

function record(name: string, i: number): RecordInput {
  return {
    name,
    instanceId: `inst-${name}-${i}`,
    namespace: 'bench',
    endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 4000 + (i % 1000) }],
    methods: ['greet', 'charge'],
    metadata: { version: '1.2.3' },
    registeredAt: Date.now(),
  };
}

/**
 * Times `ours` and `reference` alternately (so machine load hits both alike) and returns the
 * median of each, in microseconds.
 */
async function interleaved(
  ours: () => Promise<unknown>,
  reference: () => Promise<unknown>,
  iterations: number,
  warmup: number,
): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = performance.now();
    await ours();
    const t1 = performance.now();
    await reference();
    const t2 = performance.now();
    if (i >= warmup) {
      a.push((t1 - t0) * 1000);
      b.push((t2 - t1) * 1000);
    }
  }
  return [median(a), median(b)];
}

/** Runs `fn(i)` for i in [0, n), BATCH at a time; returns operations per second. */
async function throughput(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let start = 0; start < n; start += BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) batch.push(fn(i));
    await Promise.all(batch);
  }
  return n / ((performance.now() - t0) / 1000);
}

async function coldLookup(registry: RedisRegistry, raw: RawClient): Promise<Comparison> {
  const input = record('lookup-target', 0);
  await registry.register(input, 600_000);
  await raw.set('bench:get', JSON.stringify({ ...input, expiresAt: Date.now() }));
  const [ours, reference] = await interleaved(
    () => registry.lookup('lookup-target', { fresh: true }),
    () => raw.get('bench:get'),
    LOOKUPS,
    300,
  );
  return {
    what: 'lookup by name, cold (p50)',
    unit: 'us',
    ours,
    reference,
    referenceLabel: 'ioredis GET',
    better: 'lower',
    goal: '<= 1.2',
  };
}

async function registerAndRenew(registry: RedisRegistry, raw: RawClient): Promise<Comparison[]> {
  const ttl = 600_000;
  const reg = await throughput(INSTANCES, (i) => registry.register(record(`svc-${i % 50}`, i), ttl));
  const renew = await throughput(INSTANCES, (i) => registry.renew(`inst-svc-${i % 50}-${i}`, ttl));
  const json = JSON.stringify(record('svc', 0));
  const rawSet = await throughput(INSTANCES, (i) => raw.set(`bench:rec:${i}`, json, 'PX', ttl));
  const rawExpire = await throughput(INSTANCES, (i) => raw.pexpire(`bench:rec:${i}`, ttl));
  return [
    {
      what: `register x${INSTANCES} (${BATCH} in flight)`,
      unit: 'ops/s',
      ours: reg,
      reference: rawSet,
      referenceLabel: 'ioredis SET PX',
      better: 'higher',
    },
    {
      what: `heartbeat (renew) x${INSTANCES}`,
      unit: 'ops/s',
      ours: renew,
      reference: rawExpire,
      referenceLabel: 'ioredis PEXPIRE',
      better: 'higher',
    },
  ];
}

async function listAll(registry: RedisRegistry, raw: RawClient): Promise<Comparison> {
  await throughput(BIG, (i) => registry.register(record(`peer-${i % 500}`, i), 600_000));
  const found = await registry.list('*');
  if (found.length < BIG) throw new Error(`expected at least ${BIG} records, got ${found.length}`);
  // Reference: the same records in one plain hash, read with one HVALS and parsed.
  await throughput(found.length, (i) => raw.hset('bench:all', String(i), JSON.stringify(found[i])));
  const [ours, reference] = await interleaved(
    () => registry.list('*'),
    async () => (await raw.hvals('bench:all')).map((v) => JSON.parse(v) as unknown),
    LIST_RUNS,
    3,
  );
  return {
    what: `peers('*') over ${found.length} instances (p50)`,
    unit: 'us',
    ours,
    reference,
    referenceLabel: 'HVALS + JSON.parse',
    better: 'lower',
  };
}

/** The other process: watches the registry and a raw channel, reports arrival times. */
async function child(url: string): Promise<void> {
  const registry = new RedisRegistry({ url, namespace: 'bench' });
  await registry.start();
  await registry.watch();
  registry.on('join', (r) => process.send?.({ kind: 'join', id: r.instanceId, at: now() }));
  const sub = registry.client.duplicate();
  await sub.connect();
  sub.on('message', (_channel: string, id: string) => process.send?.({ kind: 'raw', id, at: now() }));
  await sub.subscribe(RAW_CHANNEL);
  process.send?.({ kind: 'ready' });
  process.on('message', async () => {
    sub.disconnect();
    await registry.stop();
    process.exit(0);
  });
}

async function joinLatency(registry: RedisRegistry, raw: RawClient, url: string): Promise<Comparison> {
  const proc = fork(fileURLToPath(import.meta.url), ['child', url], { execArgv: process.execArgv });
  const arrivals = new Map<string, number>();
  await new Promise<void>((resolve, reject) => {
    proc.once('error', reject);
    proc.on('message', (m: { kind: string; id?: string; at?: number }) => {
      if (m.kind === 'ready') resolve();
      else if (m.id && m.at) arrivals.set(`${m.kind}:${m.id}`, m.at);
    });
  });
  const sent = new Map<string, number>();
  for (let i = 0; i < EVENTS; i++) {
    const input = record('joiner', i);
    sent.set(`join:${input.instanceId}`, now());
    await registry.register(input, 600_000);
    sent.set(`raw:r${i}`, now());
    await raw.publish(RAW_CHANNEL, `r${i}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  proc.send('stop');
  const latencies = (kind: string) =>
    [...sent]
      .filter(([key]) => key.startsWith(`${kind}:`) && arrivals.has(key))
      .map(([key, t]) => ((arrivals.get(key) as number) - t) * 1000);
  const ours = latencies('join');
  const reference = latencies('raw');
  console.log(
    `join events received ${ours.length}/${EVENTS}; p99 ${percentile(ours, 99).toFixed(0)} us (raw p99 ${percentile(reference, 99).toFixed(0)} us)`,
  );
  return {
    what: 'join-event latency across processes (p50)',
    unit: 'us',
    ours: percentile(ours, 50),
    reference: percentile(reference, 50),
    referenceLabel: 'ioredis PUBLISH->SUBSCRIBE',
    better: 'lower',
    goal: 'p50 < 5000 us',
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecar-bench-redis-'));
  const redis = await startRedis({ dir });
  const stop = () => redis.stop();
  const url = redis.url;
  const registry = new RedisRegistry({ url, namespace: 'bench', sweepInterval: 60_000 });
  try {
    await registry.start();
    const raw = registry.client.duplicate();
    await raw.connect();
    const rows = [
      await coldLookup(registry, raw),
      ...(await registerAndRenew(registry, raw)),
      await joinLatency(registry, raw, url),
      await listAll(registry, raw),
    ];
    raw.disconnect();
    printComparisons('registry-redis (one redis-server 7 on 127.0.0.1)', rows);
  } finally {
    await registry.stop();
    await stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') await child(process.argv[3] as string);
else await main();
