import { randomBytes } from 'node:crypto';
import type { InstanceRecord } from '@sidecar/core';
import { eventually, recordEvents, testRecord } from '@sidecar/core/testing';
import { SqlRegistry } from '@sidecar/registry-sql';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { freshSchema, postgresUrl, spawnChild } from './helpers.js';

const opened: SqlRegistry[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.stop()));
});

function make(options: { schema: string; namespace?: string; url?: string }): SqlRegistry {
  const registry = new SqlRegistry({ url: postgresUrl(), namespace: 'pg', sweepInterval: 50, ...options });
  opened.push(registry);
  return registry;
}

async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], url = postgresUrl()) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('postgres', () => {
  it('migrates an empty schema once when eight peers start at the same moment', async () => {
    const schema = freshSchema();
    const registries = Array.from({ length: 8 }, () => make({ schema }));
    await Promise.all(registries.map((r) => r.start()));
    await Promise.all(registries.map((r, i) => r.register(testRecord(`peer-${i}`), 60_000)));
    expect(await registries[0]!.list('peer-*')).toHaveLength(8);
    const versions = await query<{ version: number }>(`SELECT version FROM "${schema}".sidecar_migrations`);
    expect(versions.map((v) => v.version)).toEqual([1]);
  });

  it('migrates an empty database once when three processes start on it at the same moment', async () => {
    const database = `db_${randomBytes(5).toString('hex')}`;
    await query(`CREATE DATABASE ${database}`);
    const url = postgresUrl().replace(/\/postgres$/, `/${database}`);
    const children = Array.from({ length: 3 }, () => spawnChild(['migrate', url]));
    try {
      for (const child of children) await child.waitFor((l) => l === 'ready', 20_000);
      for (const child of children) child.process.stdin?.write('go\n');
      for (const child of children) {
        await child.waitFor((l) => l === 'ok', 20_000);
        expect(await child.exited).toBe(0);
      }
      const versions = await query<{ version: number }>('SELECT version FROM sidecar_migrations', [], url);
      expect(versions.map((v) => v.version)).toEqual([1]);
      const rows = await query<{ n: string }>('SELECT count(*) AS n FROM sidecar_instances', [], url);
      expect(Number(rows[0]?.n)).toBe(3);
    } finally {
      for (const child of children) child.process.kill();
    }
  });

  it('delivers a change too large for one NOTIFY through the events table', async () => {
    const schema = freshSchema();
    const writer = make({ schema });
    const watcher = make({ schema });
    await Promise.all([writer.start(), watcher.start()]);
    await watcher.watch();
    const seen = recordEvents(watcher);
    const big = 'x'.repeat(20_000);
    const input = testRecord('big-record', { metadata: { big }, methods: ['a', 'b'] });
    await writer.register(input, 60_000);
    await eventually(() => expect(seen.join).toHaveLength(1), 3000);
    expect((seen.join[0] as InstanceRecord).metadata.big).toBe(big);
    await writer.deregister(input.instanceId);
    await eventually(() => expect(seen.leave).toHaveLength(1), 3000);
  });

  it('answers many concurrent calls, with a pool of one connection and with the default pool', async () => {
    // The default pool keeps one connection for calls that find it idle; with max: 1 it must not.
    for (const pool of [{ max: 1 }, {}]) {
      const schema = freshSchema();
      const registry = new SqlRegistry({ url: postgresUrl(), namespace: 'pg', schema, pool });
      opened.push(registry);
      await registry.start();
      const inputs = Array.from({ length: 20 }, (_, i) => testRecord(`busy-${i % 4}`));
      await Promise.all(inputs.map((r) => registry.register(r, 60_000)));
      const [found] = await Promise.all([
        Promise.all(['busy-0', 'busy-1', 'busy-2', 'busy-3'].map((n) => registry.lookup(n, { fresh: true }))),
        Promise.all(inputs.map((r) => registry.renew(r.instanceId, 60_000))),
      ]);
      expect(found.map((records) => records.length)).toEqual([5, 5, 5, 5]);
      expect(await registry.list('*')).toHaveLength(20);
    }
  });

  it('keeps namespaces, schemas and table prefixes apart', async () => {
    const schema = freshSchema();
    const one = make({ schema, namespace: 'one' });
    const two = make({ schema, namespace: 'two' });
    const prefixed = new SqlRegistry({ url: postgresUrl(), schema, namespace: 'one', tablePrefix: 'x_' });
    opened.push(prefixed);
    await Promise.all([one.start(), two.start(), prefixed.start()]);
    await one.watch();
    const seen = recordEvents(one);
    await two.register(testRecord('in-two'), 60_000);
    await prefixed.register(testRecord('in-prefixed'), 60_000);
    await one.register(testRecord('in-one'), 60_000);
    await eventually(() => expect(seen.join).toHaveLength(1), 2000);
    expect((seen.join[0] as InstanceRecord).name).toBe('in-one');
    expect((await prefixed.list('*')).map((r) => r.name)).toEqual(['in-prefixed']);
    expect(seen.warning).toEqual([]);
  });

  it('reports an unreachable server as a retryable RegistryUnavailableError', async () => {
    const registry = new SqlRegistry({
      url: 'postgres://postgres@127.0.0.1:1/postgres',
      pool: { connectionTimeoutMillis: 500 },
    });
    await expect(registry.start()).rejects.toMatchObject({
      code: 'SIDECAR_ERR_REGISTRY_UNAVAILABLE',
      retryable: true,
    });
    await registry.stop();
  });
});
