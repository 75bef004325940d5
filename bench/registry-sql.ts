/**
 * SQL registry benchmark (SQLite and PostgreSQL), each figure next to the raw driver on the same
 * database in the same run, interleaved (ours and the reference alternate):
 *   - cold lookup by name (fresh: true) vs the raw driver doing the same job by hand: a prepared
 *     SELECT of the name's rows live by the database's clock, JSON.parse of each (the raw
 *     primary-key SELECT of one row, which does less, is printed too, for scale);
 *   - register + renew vs raw statements with the same effect: the upsert and its join/update
 *     event (SQLite: exists check + upsert + events row in one BEGIN IMMEDIATE transaction;
 *     PostgreSQL: one statement, upsert + events row + pg_notify), then the expiry UPDATE;
 *   - peers('*') over 10,000 instances vs a raw SELECT of the live rows + JSON.parse;
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

/** PostgreSQL's clock in ms, as the registry's statements read it. */
const PG_NOW = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

import { startPostgres } from '../test/setup/servers/index.js';
import {
  type Comparison,
  compareSamples,
  interleave,
  median,
  percentile,
  printComparisons,
  timeEach,
} from './lib/measure.js';

// The raw drivers, from the registry package's own dependencies (bench/ does not depend on them).
const require = createRequire(import.meta.resolve('@sidecar/registry-sql'));
interface RawStatement {
  get(...values: unknown[]): unknown;
  all(...values: unknown[]): unknown[];
  run(...values: unknown[]): unknown;
}
interface RawSqlite {
  prepare(sql: string): RawStatement & { raw(): RawStatement; pluck(): RawStatement };
  transaction<A extends unknown[]>(fn: (...args: A) => void): { immediate(...args: A): void };
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

/** A stored row as a raw user reads it: the JSON parsed, the expiry column put in. */
function parsed([text, expiresAt]: [string, number]): unknown {
  const value = JSON.parse(text) as { expiresAt?: number };
  value.expiresAt = expiresAt;
  return value;
}

function stored(r: RecordInput): string {
  return JSON.stringify({ ...r, namespace: NS });
}

/** The raw side of one dialect: the same tables, through the driver directly. */
interface Raw {
  byPk(instanceId: string): Promise<unknown>;
  /** The live rows of one name by the database's clock, each JSON.parsed (the lookup's job). */
  byName(name: string): Promise<unknown[]>;
  /** Upsert living ttl ms by the database's clock, and its join/update event (the register's job). */
  register(r: RecordInput, ttl: number): Promise<void>;
  /** The expiry moved to ttl ms from now by the database's clock (the renew's job). */
  renew(instanceId: string, ttl: number): Promise<void>;
  all(): Promise<unknown[]>;
  bulkInsert(records: RecordInput[]): Promise<void>;
  /** Resolves when one message sent to the other side arrives (null where the dialect has none). */
  notifyRoundTrip: (() => Promise<void>) | null;
  close(): Promise<void>;
}

/** SQLite's clock in ms, as the registry's statements read it. */
const SQLITE_NOW = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

function rawSqlite(path: string): Raw {
  const db = new SqliteDatabase(path);
  const pk = db.prepare(
    'SELECT record, expires_at FROM sidecar_instances WHERE namespace = ? AND instance_id = ?',
  );
  const byName = db
    .prepare(
      `SELECT record, expires_at FROM sidecar_instances WHERE namespace = ? AND name = ? AND expires_at > ${SQLITE_NOW}`,
    )
    .raw();
  const upsert = db.prepare(
    `INSERT INTO sidecar_instances (namespace, instance_id, name, expires_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (namespace, instance_id) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at`,
  );
  const exists = db
    .prepare('SELECT 1 FROM sidecar_instances WHERE namespace = ? AND instance_id = ?')
    .pluck();
  const upsertNow = db
    .prepare(
      `INSERT INTO sidecar_instances (namespace, instance_id, name, expires_at, updated_at, record)
       VALUES (?, ?, ?, ${SQLITE_NOW} + ?, ${SQLITE_NOW}, ?)
       ON CONFLICT (namespace, instance_id) DO UPDATE SET
         name = excluded.name, record = excluded.record, expires_at = excluded.expires_at, updated_at = excluded.updated_at
       RETURNING expires_at, updated_at`,
    )
    .raw();
  const event = db.prepare(
    'INSERT INTO sidecar_events (namespace, type, expires_at, created_at, record) VALUES (?, ?, ?, ?, ?)',
  );
  const touch = db.prepare(
    `UPDATE sidecar_instances SET expires_at = ${SQLITE_NOW} + ?, updated_at = ${SQLITE_NOW} WHERE namespace = ? AND instance_id = ?`,
  );
  const all = db
    .prepare(
      `SELECT record, expires_at FROM sidecar_instances WHERE namespace = ? AND expires_at > ${SQLITE_NOW}`,
    )
    .raw();
  const register = db.transaction((r: RecordInput, ttl: number) => {
    const existed = exists.get(NS, r.instanceId) !== undefined;
    const text = stored(r);
    const [expiresAt, now] = upsertNow.get(NS, r.instanceId, r.name, ttl, text) as [number, number];
    event.run(NS, existed ? 'update' : 'join', expiresAt, now, text);
  });
  return {
    byPk: async (id) => pk.get(NS, id),
    byName: async (name) => (byName.all(NS, name) as Array<[string, number]>).map(parsed),
    register: async (r, ttl) => register.immediate(r, ttl),
    renew: async (id, ttl) => void touch.run(ttl, NS, id),
    all: async () => (all.all(NS) as Array<[string, number]>).map(parsed),
    bulkInsert: async (records) => {
      const exp = Date.now() + 600_000;
      db.transaction(() => {
        for (const r of records) upsert.run(NS, r.instanceId, r.name, exp, Date.now(), stored(r));
      }).immediate();
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
    byName: async (name) => {
      const { rows } = await q(
        'raw-by-name',
        `SELECT record, expires_at FROM sidecar_instances WHERE namespace = $1 AND name = $2 AND expires_at > ${PG_NOW}`,
        [NS, name],
      );
      return rows.map((row) => parsed([row.record as string, Number(row.expires_at)]));
    },
    // One statement: the upsert, its events row (for replay) and its NOTIFY, as the registry's
    // put does (without the plpgsql function and the large-payload case).
    register: async (r, ttl) => {
      await q(
        'raw-register',
        `WITH up AS (
           INSERT INTO sidecar_instances AS t (namespace, instance_id, name, record, expires_at, updated_at)
           VALUES ($1, $2, $3, $4, ${PG_NOW} + $5::bigint, ${PG_NOW})
           ON CONFLICT (namespace, instance_id) DO UPDATE SET
             name = EXCLUDED.name, record = EXCLUDED.record,
             expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at
           RETURNING (t.xmax = 0) AS inserted, t.record, t.expires_at, t.updated_at
         ), ev AS (
           INSERT INTO sidecar_events (namespace, created_at, payload)
           SELECT 'rawbench', updated_at,
             json_build_object('t', CASE WHEN inserted THEN 'join' ELSE 'update' END, 'n', $1::text, 'e', expires_at, 'r', record)::text
           FROM up RETURNING id, payload
         )
         SELECT pg_notify('rawbench_events', payload), (SELECT expires_at FROM up) FROM ev`,
        [NS, r.instanceId, r.name, stored(r), ttl],
      );
    },
    renew: async (id, ttl) => {
      await q(
        'raw-renew',
        `UPDATE sidecar_instances SET expires_at = ${PG_NOW} + $3::bigint, updated_at = ${PG_NOW}
         WHERE namespace = $1 AND instance_id = $2`,
        [NS, id, ttl],
      );
    },
    all: async () => {
      const { rows } = await q(
        'raw-all',
        `SELECT record, expires_at FROM sidecar_instances WHERE namespace = $1 AND expires_at > ${PG_NOW}`,
        [NS],
      );
      return rows.map((row) => parsed([row.record as string, Number(row.expires_at)]));
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

/** Interleaved rounds of the register + renew figure. */
const ROUNDS = 7;

/**
 * Times functions one call each per step, in turn (so load from elsewhere hits all alike);
 * returns each one's samples in microseconds, paired by step.
 */
async function alternating(fns: Array<() => Promise<unknown>>, iterations: number): Promise<number[][]> {
  const times = fns.map(() => [] as number[]);
  for (const fn of fns) await timeEach(fn, 0, Math.min(500, iterations));
  for (let i = 0; i < iterations; i++) {
    for (const [k, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      times[k]?.push((performance.now() - t0) * 1000);
    }
  }
  return times;
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
  const [ours = [], ref = [], pk = []] = await alternating(
    [
      () => registry.lookup(target.name, { fresh: true }),
      () => r.byName(target.name),
      () => r.byPk(target.instanceId),
    ],
    iterations,
  );
  rows.push(
    compareSamples(
      {
        what: `${label}: cold lookup (fresh), median`,
        unit: 'us',
        referenceLabel: 'raw prepared SELECT by name, live by the db clock, + JSON.parse',
        better: 'lower',
        goal: '<= 1.2',
      },
      ours,
      ref,
    ),
    compareSamples(
      {
        what: `${label}: cold lookup (fresh), for scale`,
        unit: 'us',
        referenceLabel: 'raw primary-key SELECT of one row (does less: no liveness, no parse)',
        better: 'lower',
      },
      ours,
      pk,
    ),
  );

  // register + renew, interleaved rounds of WRITES new instances each (joins), then renewed.
  const perRound = label === 'sqlite' ? 300 : 200;
  let oursRound = 0;
  let rawRound = 0;
  const writes = await interleave(
    {
      ours: async () => {
        const batch = Array.from({ length: perRound }, (_, i) => record(`instance-${oursRound}-${i}`));
        oursRound++;
        const t0 = performance.now();
        for (const input of batch) await registry.register(input, 60_000);
        for (const input of batch) await registry.renew(input.instanceId, 60_000);
        return (2 * perRound) / ((performance.now() - t0) / 1000);
      },
      raw: async () => {
        const batch = Array.from({ length: perRound }, (_, i) => record(`raw-instance-${rawRound}-${i}`));
        rawRound++;
        const t0 = performance.now();
        for (const input of batch) await r.register(input, 60_000);
        for (const input of batch) await r.renew(input.instanceId, 60_000);
        return (2 * perRound) / ((performance.now() - t0) / 1000);
      },
    },
    ROUNDS,
  );
  rows.push(
    compareSamples(
      {
        what: `${label}: register + renew, ${perRound} instances x ${ROUNDS} rounds`,
        unit: 'ops/s',
        referenceLabel: 'raw upsert + join/update event, then UPDATE expiry (same effect)',
        better: 'higher',
        goal: '>= 0.85',
      },
      writes.ours,
      writes.raw,
    ),
  );

  // peers('*') over 10,000 instances.
  const present = (await registry.list('*')).length;
  await r.bulkInsert(Array.from({ length: Math.max(0, 10_000 - present) }, (_, i) => record(`bulk-${i}`)));
  const listed = await registry.list('*');
  const [listOurs, listRef] = await alternating([() => registry.list('*'), () => r.all()], 11);
  const ms = (us: number[] | undefined) => (us ?? []).map((t) => t / 1000);
  rows.push(
    compareSamples(
      {
        what: `${label}: peers('*') over ${listed.length} instances, median`,
        unit: 'ms',
        referenceLabel: 'raw prepared SELECT of the live rows + JSON.parse',
        better: 'lower',
        goal: '<= 1.1',
      },
      ms(listOurs),
      ms(listRef),
    ),
  );

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
