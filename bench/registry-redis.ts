/**
 * Redis registry benchmark: ours vs raw ioredis on the same redis-server, in the same run,
 * interleaved (ours and the reference alternate, so machine load hits both alike).
 *
 * Each goal row's reference does the registry's job with the least raw work, written by hand
 * with ioredis (one EVALSHA of a minimal Lua script on the same key layout): a register keeps
 * the name index and the expiry index and announces join/update in the same atomic step; a
 * renew checks the record is live and moves its expiry (score and stored JSON) by the server's
 * clock; a lookup / peers('*') returns only the records live by the server's clock, JSON.parsed.
 * What sidecar adds on top: validation of every input and of every row read back (malformed
 * rows give typed errors), quarantine of wrong-typed keys, timeout events for records found
 * expired. The single-command figures (GET, SET PX, PEXPIRE, HVALS) are printed as well, for
 * scale: they do less than the contract requires (no index, no event, no liveness check).
 * Run: pnpm exec tsx --conditions=@sidecar/source bench/registry-redis.ts
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { RecordInput } from '@sidecar/core';
import { hexName, KeyLayout, RedisRegistry } from '@sidecar/registry-redis';
import { startRedis } from '../test/setup/servers/index.js';
import { type Comparison, compareSamples, interleave, percentile, printComparisons } from './lib/measure.js';

type RawClient = ReturnType<RedisRegistry['client']['duplicate']>;

/** The reference's scripts: the least raw work that does a registry operation's job. */
const RAW_SCRIPTS = {
  // KEYS: ids, expiry, names, name hash. ARGV: channel, id, hex name, JSON without its closing
  // brace, ttl. The server's clock; join or update from whether the id was new; one PUBLISH.
  rawPut: {
    numberOfKeys: 4,
    lua: `local t = redis.call('TIME')
local exp = t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[5])
local json = ARGV[4] .. ',"expiresAt":' .. exp .. '}'
local new = redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[2], json)
redis.call('ZADD', KEYS[2], exp, ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PUBLISH', ARGV[1], '{"type":"' .. (new == 1 and 'join' or 'update') .. '","record":' .. json .. '}')
return exp`,
  },
  // KEYS: ids, expiry. ARGV: name hash prefix, id, ttl. 0 if gone or expired.
  rawTouch: {
    numberOfKeys: 2,
    lua: `local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local score = redis.call('ZSCORE', KEYS[2], ARGV[2])
if not score or tonumber(score) <= now then return 0 end
local key = ARGV[1] .. redis.call('HGET', KEYS[1], ARGV[2])
local json = redis.call('HGET', key, ARGV[2])
local exp = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], exp, ARGV[2])
redis.call('HSET', key, ARGV[2], (string.gsub(json, ',"expiresAt":%d+}$', ',"expiresAt":' .. exp .. '}')))
return 1`,
  },
  // KEYS: expiry, name hash. The records of one name live by the server's clock.
  rawByName: {
    numberOfKeys: 2,
    lua: `local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local flat = redis.call('HGETALL', KEYS[2])
local out = {}
for i = 1, #flat, 2 do
  local score = redis.call('ZSCORE', KEYS[1], flat[i])
  if score and tonumber(score) > now then out[#out + 1] = flat[i + 1] end
end
return out`,
  },
  // KEYS: expiry, names. ARGV: name hash prefix. Every record live by the server's clock.
  rawAll: {
    numberOfKeys: 2,
    lua: `local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local live = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do live[id] = true end
local out = {}
for _, hex in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local flat = redis.call('HGETALL', ARGV[1] .. hex)
  for i = 1, #flat, 2 do
    if live[flat[i]] then out[#out + 1] = flat[i + 1] end
  end
end
return out`,
  },
} as const;

interface RawScripts {
  rawPut(
    ids: string,
    expiry: string,
    names: string,
    name: string,
    ...argv: Array<string | number>
  ): Promise<number>;
  rawTouch(ids: string, expiry: string, prefix: string, id: string, ttl: number): Promise<number>;
  rawByName(expiry: string, name: string): Promise<string[]>;
  rawAll(expiry: string, names: string, prefix: string): Promise<string[]>;
}

/** The reference side: raw ioredis on keys of its own, laid out like the registry's. */
class RawRegistry {
  readonly keys: KeyLayout;
  readonly #c: RawClient & RawScripts;
  constructor(client: RawClient, namespace: string) {
    this.keys = new KeyLayout('rawbench', namespace);
    for (const [name, script] of Object.entries(RAW_SCRIPTS)) client.defineCommand(name, script);
    this.#c = client as RawClient & RawScripts;
  }
  register(input: RecordInput, ttl: number): Promise<number> {
    const k = this.keys;
    const json = JSON.stringify(input);
    return this.#c.rawPut(
      k.ids,
      k.expiry,
      k.names,
      k.name(input.name),
      k.channel,
      input.instanceId,
      hexName(input.name),
      json.slice(0, -1),
      ttl,
    );
  }
  renew(instanceId: string, ttl: number): Promise<number> {
    return this.#c.rawTouch(this.keys.ids, this.keys.expiry, this.keys.namePrefix, instanceId, ttl);
  }
  async lookup(name: string): Promise<unknown[]> {
    return (await this.#c.rawByName(this.keys.expiry, this.keys.name(name))).map(
      (v) => JSON.parse(v) as unknown,
    );
  }
  async all(): Promise<unknown[]> {
    const k = this.keys;
    return (await this.#c.rawAll(k.expiry, k.names, k.namePrefix)).map((v) => JSON.parse(v) as unknown);
  }
}

const LOOKUPS = 3000;
const INSTANCES = 1000;
const BIG = 10_000;
const LIST_RUNS = 15;
/** Interleaved rounds of the throughput figures (each 1,000 operations per subject). */
const ROUNDS = 7;
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
 * Times `ours` and the references alternately, one call each per iteration (so machine load
 * hits all alike); returns the samples of each, in microseconds, paired by iteration.
 */
async function alternate(
  subjects: Array<() => Promise<unknown>>,
  iterations: number,
  warmup: number,
): Promise<number[][]> {
  const samples = subjects.map(() => [] as number[]);
  for (let i = 0; i < warmup + iterations; i++) {
    for (const [k, fn] of subjects.entries()) {
      const t0 = performance.now();
      await fn();
      if (i >= warmup) samples[k]?.push((performance.now() - t0) * 1000);
    }
  }
  return samples;
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

const rate = (what: string, referenceLabel: string, goal?: string) => ({
  what,
  unit: 'ops/s',
  referenceLabel,
  better: 'higher' as const,
  ...(goal ? { goal } : {}),
});
const latency = (what: string, referenceLabel: string, goal?: string) => ({
  what,
  unit: 'us',
  referenceLabel,
  better: 'lower' as const,
  ...(goal ? { goal } : {}),
});

async function coldLookup(registry: RedisRegistry, raw: RawClient, ref: RawRegistry): Promise<Comparison[]> {
  const input = record('lookup-target', 0);
  await registry.register(input, 600_000);
  await ref.register(input, 600_000);
  await raw.set('bench:get', JSON.stringify({ ...input, expiresAt: Date.now() }));
  const [ours, reference, get] = await alternate(
    [
      () => registry.lookup('lookup-target', { fresh: true }),
      () => ref.lookup('lookup-target'),
      () => raw.get('bench:get'),
    ],
    LOOKUPS,
    300,
  );
  return [
    compareSamples(
      latency(
        'lookup by name, cold (p50)',
        'raw EVALSHA: TIME + HGETALL + ZSCORE live filter, JSON.parse',
        '<= 1.2',
      ),
      ours as number[],
      reference as number[],
    ),
    compareSamples(
      latency('lookup by name, cold (p50), for scale', 'ioredis GET of one key (does less)'),
      ours as number[],
      get as number[],
    ),
  ];
}

async function registerAndRenew(
  registry: RedisRegistry,
  raw: RawClient,
  ref: RawRegistry,
): Promise<Comparison[]> {
  const ttl = 600_000;
  const json = JSON.stringify(record('svc', 0));
  // Each side registers new instances every round (joins): 0-999 first, renewed below.
  let ours = 0;
  let theirs = 0;
  const samples = await interleave(
    {
      register: async () => {
        const base = INSTANCES * ours++;
        return throughput(INSTANCES, (i) => registry.register(record(`svc-${i % 50}`, base + i), ttl));
      },
      rawPut: async () => {
        const base = INSTANCES * theirs++;
        return throughput(INSTANCES, (i) => ref.register(record(`svc-${i % 50}`, base + i), ttl));
      },
      setPx: async () => throughput(INSTANCES, (i) => raw.set(`bench:rec:${i}`, json, 'PX', ttl)),
    },
    ROUNDS,
  );
  const renews = await interleave(
    {
      renew: async () => throughput(INSTANCES, (i) => registry.renew(`inst-svc-${i % 50}-${i}`, ttl)),
      rawTouch: async () => throughput(INSTANCES, (i) => ref.renew(`inst-svc-${i % 50}-${i}`, ttl)),
      pexpire: async () => throughput(INSTANCES, (i) => raw.pexpire(`bench:rec:${i}`, ttl)),
    },
    ROUNDS,
  );
  return [
    compareSamples(
      rate(
        `register x${INSTANCES} (${BATCH} in flight)`,
        'raw EVALSHA: TIME + HSET x2 + ZADD + SADD + PUBLISH join/update',
        '>= 0.85',
      ),
      samples.register,
      samples.rawPut,
    ),
    compareSamples(
      rate(`register x${INSTANCES}, for scale`, 'ioredis SET PX (does less: no index, no event)'),
      samples.register,
      samples.setPx,
    ),
    compareSamples(
      rate(
        `heartbeat (renew) x${INSTANCES} (${BATCH} in flight)`,
        'raw EVALSHA: TIME + ZSCORE + HGET x2 + ZADD + HSET',
        '>= 0.85',
      ),
      renews.renew,
      renews.rawTouch,
    ),
    compareSamples(
      rate(`heartbeat (renew) x${INSTANCES}, for scale`, 'ioredis PEXPIRE (does less: no liveness check)'),
      renews.renew,
      renews.pexpire,
    ),
  ];
}

/** peers('*') on a namespace of its own (the figures above left thousands of records in theirs). */
async function listAll(url: string, raw: RawClient): Promise<Comparison[]> {
  const registry = new RedisRegistry({ url, namespace: 'list', sweepInterval: 60_000 });
  await registry.start();
  const ref = new RawRegistry(raw, 'list');
  await throughput(BIG, (i) => registry.register(record(`peer-${i % 500}`, i), 600_000));
  const found = await registry.list('*');
  if (found.length < BIG) throw new Error(`expected at least ${BIG} records, got ${found.length}`);
  // The references: the same records in the raw key layout, and in one plain hash.
  await throughput(found.length, (i) => ref.register(found[i] as RecordInput, 600_000));
  await throughput(found.length, (i) => raw.hset('bench:all', String(i), JSON.stringify(found[i])));
  const [ours, reference, hvals] = await alternate(
    [
      () => registry.list('*'),
      () => ref.all(),
      async () => (await raw.hvals('bench:all')).map((v) => JSON.parse(v) as unknown),
    ],
    LIST_RUNS,
    3,
  );
  await registry.stop();
  return [
    compareSamples(
      latency(
        `peers('*') over ${found.length} instances (p50)`,
        'raw EVALSHA: live ids + SMEMBERS + HGETALL per name, JSON.parse',
        '<= 1.1',
      ),
      ours as number[],
      reference as number[],
    ),
    compareSamples(
      latency(
        `peers('*') over ${found.length} instances, for scale`,
        'HVALS of one hash + JSON.parse (does less: no expiry, no index)',
      ),
      ours as number[],
      hvals as number[],
    ),
  ];
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
    const ref = new RawRegistry(raw, 'bench');
    const rows = [
      ...(await coldLookup(registry, raw, ref)),
      ...(await registerAndRenew(registry, raw, ref)),
      await joinLatency(registry, raw, url),
      ...(await listAll(url, raw)),
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
