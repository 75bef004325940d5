/**
 * SQL registry benchmark (SQLite and PostgreSQL), each figure next to the raw driver on the same
 * database in the same run:
 *   - cold lookup by name (fresh: true) vs the raw driver's primary-key SELECT;
 *   - register + heartbeat of 1,000 instances vs raw upserts + updates;
 *   - peers('*') over 10,000 instances vs a raw SELECT + JSON.parse of the same rows;
 *   - join-event latency between two registries (separate connections) vs the poll interval
 *     (SQLite) and a raw LISTEN/NOTIFY round trip (PostgreSQL).
 * Run: pnpm exec tsx --conditions=@sidecar/source bench/registry-sql.ts
 * PostgreSQL: SIDECAR_BENCH_POSTGRES_URL, else a throwaway server started here (needs postgresql).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { InstanceRecord, RecordInput } from '@sidecar/core';
import { DEFAULT_POLL_INTERVAL, SqlRegistry } from '@sidecar/registry-sql';
import { startPostgres } from '../test/setup/servers/index.js';
import { type Comparison, median, percentile, printComparisons, timeEach } from './lib/measure.js';

// The raw drivers, from the registry package's own dependencies (bench/ does not depend on them).
const require = createRequire(import.meta.resolve('@sidecar/registry-sql'));
interface RawStatement {
  get(...values: unknown[]): unknown;
  all(...values: unknown[]): unknown[];
  run(...values: unknown[]): unknown;
}
interface RawSqlite {
  prepare(sql: string): RawStatement;
  transaction(fn: () => void): () => void;
  close(): void;
}
interface RawPgClient {
  query(config: {
    name?: string;
    text: string;
    values?: unknown[];
  }): Promise<{ rows: Array<Record<string, unknown>> }>;
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', fn: (msg: { payload?: string }) => void): void;
}
const SqliteDatabase = require('better-sqlite3') as new (path: string) => RawSqlite;
const pg = require('pg') as { Client: new (config: { connectionString: string }) => RawPgClient };

const NS = 'bench';

function record(name: string): RecordInput {
  return {
    name,
    instanceId: randomBytes(9).toString('base64url'),
    namespace: NS,
    endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 4000 }],
    methods: ['greet'],
    metadata: { version: '1.0.0' },
    registeredAt: Date.now(),
  };
}

function stored(r: RecordInput): string {
  return JSON.stringify({ ...r, namespace: NS });
}

/** The raw side of one dialect: the same tables, through the driver directly. */
interface Raw {
  byPk(instanceId: string): Promise<unknown>;
  upsert(r: RecordInput, expiresAt: number): Promise<void>;
  touch(instanceId: string, expiresAt: number): Promise<void>;
  all(): Promise<unknown[]>;
  bulkInsert(records: RecordInput[]): Promise<void>;
  /** Resolves when one message sent to the other side arrives (null where the dialect has none). */
  notifyRoundTrip: (() => Promise<void>) | null;
  close(): Promise<void>;
}

function rawSqlite(path: string): Raw {
  const db = new SqliteDatabase(path);
  const pk = db.prepare(
    'SELECT record, expires_at FROM sidecar_instances WHERE namespace = ? AND instance_id = ?',
  );
  const upsert = db.prepare(
    `INSERT INTO sidecar_instances (namespace, instance_id, name, expires_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (namespace, instance_id) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at`,
  );
  const touch = db.prepare(
    'UPDATE sidecar_instances SET expires_at = ? WHERE namespace = ? AND instance_id = ?',
  );
  const all = db.prepare(
    'SELECT record, expires_at FROM sidecar_instances WHERE namespace = ? AND expires_at > ?',
  );
  return {
    byPk: async (id) => pk.get(NS, id),
    upsert: async (r, exp) => void upsert.run(NS, r.instanceId, r.name, exp, Date.now(), stored(r)),
    touch: async (id, exp) => void touch.run(exp, NS, id),
    all: async () =>
      (all.all(NS, Date.now()) as Array<{ record: string }>).map((row) => JSON.parse(row.record) as unknown),
    bulkInsert: async (records) => {
      const exp = Date.now() + 600_000;
      db.transaction(() => {
        for (const r of records) upsert.run(NS, r.instanceId, r.name, exp, Date.now(), stored(r));
      })();
    },
    notifyRoundTrip: null,
    close: async () => db.close(),
  };
}

async function rawPostgres(url: string): Promise<Raw> {
  const client = new pg.Client({ connectionString: url });
  const listener = new pg.Client({ connectionString: url });
  await client.connect();
  await listener.connect();
  await listener.query({ text: 'LISTEN bench_raw' });
  let wake: (() => void) | undefined;
  listener.on('notification', () => wake?.());
  const q = (name: string, text: string, values: unknown[]) => client.query({ name, text, values });
  return {
    byPk: (id) =>
      q(
        'raw-pk',
        'SELECT record, expires_at FROM sidecar_instances WHERE namespace = $1 AND instance_id = $2',
        [NS, id],
      ),
    upsert: async (r, exp) => {
      await q(
        'raw-upsert',
        `INSERT INTO sidecar_instances (namespace, instance_id, name, expires_at, updated_at, record) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (namespace, instance_id) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`,
        [NS, r.instanceId, r.name, exp, Date.now(), stored(r)],
      );
    },
    touch: async (id, exp) => {
      await q(
        'raw-touch',
        'UPDATE sidecar_instances SET expires_at = $1 WHERE namespace = $2 AND instance_id = $3',
        [exp, NS, id],
      );
    },
    all: async () => {
      const { rows } = await q(
        'raw-all',
        'SELECT record, expires_at FROM sidecar_instances WHERE namespace = $1 AND expires_at > $2',
        [NS, Date.now()],
      );
      return rows.map((row) => JSON.parse(row.record as string) as unknown);
    },
    bulkInsert: async (records) => {
      const exp = Date.now() + 600_000;
      for (let i = 0; i < records.length; i += 1000) {
        const batch = records.slice(i, i + 1000);
        await client.query({
          text: `INSERT INTO sidecar_instances (namespace, instance_id, name, expires_at, updated_at, record)
                 SELECT $1, unnest($2::text[]), unnest($3::text[]), $4, $4, unnest($5::text[])`,
          values: [NS, batch.map((r) => r.instanceId), batch.map((r) => r.name), exp, batch.map(stored)],
        });
      }
    },
    notifyRoundTrip: async () => {
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await client.query({ text: "NOTIFY bench_raw, 'x'" });
      await arrived;
    },
    close: async () => {
      await client.end();
      await listener.end();
    },
  };
}

/** Times two functions in alternating rounds, so that load from elsewhere hits both alike. */
async function interleaved(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  iterations: number,
  rounds = 10,
): Promise<[number[], number[]]> {
  const timesA: number[] = [];
  const timesB: number[] = [];
  await timeEach(a, 0, Math.min(500, iterations));
  await timeEach(b, 0, Math.min(500, iterations));
  for (let i = 0; i < rounds; i++) {
    timesA.push(...(await timeEach(a, Math.ceil(iterations / rounds), 0)));
    timesB.push(...(await timeEach(b, Math.ceil(iterations / rounds), 0)));
  }
  return [timesA, timesB];
}

async function joinLatencies(url: string, count: number): Promise<number[]> {
  const watcher = new SqlRegistry({ url, namespace: 'latency', watchedCacheTtl: 0 });
  const writer = new SqlRegistry({ url, namespace: 'latency' });
  await Promise.all([watcher.start(), writer.start()]);
  await watcher.watch();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const input = record(`latency-${i}`);
    const joined = new Promise<void>((resolve) => {
      const on = (r: InstanceRecord) => {
        if (r.instanceId !== input.instanceId) return;
        watcher.off('join', on);
        resolve();
      };
      watcher.on('join', on);
    });
    const t0 = performance.now();
    await writer.register(input, 60_000);
    await joined;
    times.push((performance.now() - t0) * 1000);
    // Start the next one at a random point of the poll cycle (the last join arrived right after a poll).
    await new Promise((resolve) => setTimeout(resolve, Math.random() * DEFAULT_POLL_INTERVAL));
  }
  await Promise.all([watcher.stop(), writer.stop()]);
  return times;
}

async function bench(label: string, url: string, raw: (url: string) => Promise<Raw>): Promise<Comparison[]> {
  const rows: Comparison[] = [];
  const registry = new SqlRegistry({ url, namespace: NS, sweepInterval: 60_000 });
  await registry.start();
  const r = await raw(url);

  // Cold lookup by name vs primary-key SELECT, over a table of 1,000 names.
  const names: RecordInput[] = [];
  for (let i = 0; i < 1000; i++) names.push(record(`service-${i}`));
  await r.bulkInsert(names);
  const target = names[500]!;
  const iterations = label === 'sqlite' ? 20_000 : 3000;
  const [ours, ref] = await interleaved(
    () => registry.lookup(target.name, { fresh: true }),
    () => r.byPk(target.instanceId),
    iterations,
  );
  rows.push({
    what: `${label}: cold lookup (fresh), median`,
    unit: 'us',
    ours: median(ours),
    reference: median(ref),
    referenceLabel: 'raw primary-key SELECT',
    better: 'lower',
    goal: '<= 1.2',
  });

  // register + heartbeat throughput for 1,000 instances.
  const batch = Array.from({ length: 1000 }, (_, i) => record(`instance-${i}`));
  let t0 = performance.now();
  for (const input of batch) await registry.register(input, 60_000);
  for (const input of batch) await registry.renew(input.instanceId, 60_000);
  const oursRate = 2000 / ((performance.now() - t0) / 1000);
  const rawBatch = Array.from({ length: 1000 }, (_, i) => record(`raw-instance-${i}`));
  t0 = performance.now();
  for (const input of rawBatch) await r.upsert(input, Date.now() + 60_000);
  for (const input of rawBatch) await r.touch(input.instanceId, Date.now() + 60_000);
  const rawRate = 2000 / ((performance.now() - t0) / 1000);
  rows.push({
    what: `${label}: register + renew, 1,000 instances`,
    unit: 'ops/s',
    ours: oursRate,
    reference: rawRate,
    referenceLabel: 'raw upsert + update',
    better: 'higher',
  });

  // peers('*') over 10,000 instances.
  await r.bulkInsert(Array.from({ length: 10_000 - 3000 }, (_, i) => record(`bulk-${i}`)));
  const listed = await registry.list('*');
  const [listOurs, listRef] = await interleaved(
    () => registry.list('*'),
    () => r.all(),
    10,
    5,
  );
  rows.push({
    what: `${label}: peers('*') over ${listed.length} instances, median`,
    unit: 'ms',
    ours: median(listOurs) / 1000,
    reference: median(listRef) / 1000,
    referenceLabel: 'raw SELECT + JSON.parse',
    better: 'lower',
  });

  await r.close();
  await registry.stop();

  // Join-event latency between two registries.
  const latency = await joinLatencies(url, label === 'sqlite' ? 40 : 200);
  if (r.notifyRoundTrip) {
    const r2 = await raw(url);
    const notify = await timeEach(r2.notifyRoundTrip!, 200, 20);
    await r2.close();
    rows.push({
      what: `${label}: join-event latency p50 (p99 ${(percentile(latency, 99) / 1000).toFixed(2)} ms)`,
      unit: 'ms',
      ours: median(latency) / 1000,
      reference: median(notify) / 1000,
      referenceLabel: 'raw NOTIFY round trip',
      better: 'lower',
      goal: 'p50 < 5 ms',
    });
  } else {
    rows.push({
      what: `${label}: join-event latency p50 (p99 ${(percentile(latency, 99) / 1000).toFixed(2)} ms)`,
      unit: 'ms',
      ours: median(latency) / 1000,
      reference: DEFAULT_POLL_INTERVAL,
      referenceLabel: 'poll interval',
      better: 'lower',
      goal: 'within one poll interval',
    });
  }
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), 'sidecar-bench-sql-'));
const server = process.env.SIDECAR_BENCH_POSTGRES_URL ? undefined : await startPostgres();
try {
  const sqliteRows = await bench('sqlite', `sqlite:${join(dir, 'registry.db')}`, async (url) =>
    rawSqlite(url.slice('sqlite:'.length)),
  );
  printComparisons('registry-sql: SQLite (better-sqlite3)', sqliteRows);
  const pgUrl = process.env.SIDECAR_BENCH_POSTGRES_URL ?? server!.url;
  const pgRows = await bench('postgres', pgUrl, rawPostgres);
  printComparisons('registry-sql: PostgreSQL (pg)', pgRows);
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
