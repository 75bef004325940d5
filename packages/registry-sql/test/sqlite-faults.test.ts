import { existsSync, rmSync } from 'node:fs';
import { createSidecar, RecordNotFoundError, type Sidecar, type SidecarError } from '@sidecar/core';
import { eventually, recordEvents, sleep, testRecord } from '@sidecar/core/testing';
import { SqlRegistry } from '@sidecar/registry-sql';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDbPath } from './helpers.js';

const opened: Array<SqlRegistry | Sidecar> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.stop()));
});
afterAll(removeTempDirs);

async function open(path: string, namespace = 'faults'): Promise<SqlRegistry> {
  const registry = new SqlRegistry({ url: `sqlite:${path}`, namespace, pollInterval: 20, sweepInterval: 50 });
  opened.push(registry);
  await registry.start();
  return registry;
}

describe('sqlite: faults and bad input', () => {
  it('reopens a deleted file; the record is re-registered and others see it again', async () => {
    const path = tempDbPath();
    const writer = await open(path);
    const reader = await open(path);
    const warnings: SidecarError[] = [];
    writer.on('warning', (w) => warnings.push(w));
    const input = testRecord('survivor');
    await writer.register(input, 60_000);
    expect(await reader.lookup('survivor', { fresh: true })).toHaveLength(1);

    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    // Both registries notice within a poll and open a new, migrated file at the same path.
    await eventually(() => expect(existsSync(path)).toBe(true), 3000);
    await eventually(async () => {
      await expect(writer.renew(input.instanceId, 60_000)).rejects.toBeInstanceOf(RecordNotFoundError);
    }, 3000);
    await writer.register(input, 60_000); // what core's Heartbeat does on RecordNotFoundError
    await eventually(
      async () => expect(await reader.lookup('survivor', { fresh: true })).toHaveLength(1),
      3000,
    );
    expect(warnings.some((w) => /deleted or replaced/.test(w.message))).toBe(true);
  });

  it('a sidecar whose registry file is deleted (leaving -wal and -shm behind) registers again', async () => {
    const path = tempDbPath();
    const app = createSidecar({
      name: 'phoenix',
      registry: `sqlite:${path}`,
      ttl: 1200,
      namespace: 'faults',
    });
    opened.push(app);
    await app.start();
    const observer = await open(path);
    const reopened = new Promise((resolve) => observer.once('warning', resolve));
    expect(await observer.lookup('phoenix', { fresh: true })).toHaveLength(1);
    rmSync(path); // a person deleting the file by hand leaves the WAL files
    await reopened;
    expect(existsSync(path)).toBe(true);
    await eventually(async () => {
      const found = await observer.lookup('phoenix', { fresh: true });
      expect(found.map((r) => r.instanceId)).toEqual([app.instanceId]);
    }, 8000);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version FROM sidecar_migrations').pluck().all()).toEqual([1]);
    db.close();
  });

  it('skips malformed rows and malformed events with warnings, and keeps delivering', async () => {
    const path = tempDbPath();
    const registry = await open(path);
    await registry.watch();
    const seen = recordEvents(registry);
    const good = testRecord('mixed', { metadata: { ok: true } });
    await registry.register(good, 60_000);
    const db = new Database(path);
    const now = Date.now();
    const row = db.prepare(
      'INSERT INTO sidecar_instances (namespace, name, instance_id, expires_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const base = { name: 'mixed', namespace: 'faults', methods: [], metadata: {}, registeredAt: now };
    row.run('faults', 'mixed', 'json', now + 60_000, now, '{"name": "mixed",');
    row.run(
      'faults',
      'mixed',
      'port',
      now + 60_000,
      now,
      JSON.stringify({ ...base, instanceId: 'port', endpoints: [{ transport: 'tcp', host: 'h', port: -5 }] }),
    );
    row.run(
      'faults',
      'mixed',
      'transport',
      now + 60_000,
      now,
      JSON.stringify({
        ...base,
        instanceId: 'transport',
        endpoints: [{ transport: 'TCP; DROP', host: 'h', port: 5 }],
      }),
    );
    row.run('faults', 'mixed', 'array', now + 60_000, now, '[1, 2, 3]');
    // Unknown fields are tolerated (a newer peer may add some) and dropped from the parsed record.
    row.run(
      'faults',
      'mixed',
      'extra',
      now + 60_000,
      now,
      JSON.stringify({ ...base, instanceId: 'extra', endpoints: [], color: 'blue' }),
    );
    db.prepare(
      'INSERT INTO sidecar_events (namespace, type, expires_at, created_at, record) VALUES (?, ?, ?, ?, ?)',
    ).run('faults', 'join', now + 60_000, now, 'garbage{');
    db.prepare(
      'INSERT INTO sidecar_events (namespace, type, expires_at, created_at, record) VALUES (?, ?, ?, ?, ?)',
    ).run(
      'faults',
      'explode',
      now + 60_000,
      now,
      JSON.stringify({ ...base, instanceId: 'x', endpoints: [] }),
    );
    db.close();

    const found = await registry.lookup('mixed', { fresh: true });
    expect(found.map((r) => r.instanceId).sort()).toEqual([good.instanceId, 'extra'].sort());
    expect(found.find((r) => r.instanceId === 'extra')).not.toHaveProperty('color');
    expect((await registry.list('*')).length).toBe(2);
    await eventually(() => expect(seen.warning.length).toBeGreaterThanOrEqual(5), 2000);
    for (const w of seen.warning) expect((w as SidecarError).code).toBe('SIDECAR_ERR_INVALID_RECORD');
    // Events after the bad ones still arrive.
    const later = testRecord('later');
    await (await open(path)).register(later, 60_000);
    await eventually(
      () => expect(seen.join.map((r) => (r as { name: string }).name)).toContain('later'),
      2000,
    );
  });

  it('keeps events of other namespaces and prefixes apart', async () => {
    const path = tempDbPath();
    const one = await open(path, 'one');
    const two = await open(path, 'two');
    const other = new SqlRegistry({
      url: `sqlite:${path}`,
      namespace: 'one',
      tablePrefix: 'other_',
      pollInterval: 20,
    });
    opened.push(other);
    await other.start();
    await one.watch();
    const seen = recordEvents(one);
    await two.register(testRecord('in-two'), 60_000);
    await other.register(testRecord('in-other-tables'), 60_000);
    await one.register(testRecord('in-one'), 60_000);
    await eventually(() => expect(seen.join).toHaveLength(1), 2000);
    await sleep(200);
    expect(seen.join).toHaveLength(1);
    expect((seen.join[0] as { name: string }).name).toBe('in-one');
    expect((await one.list('*')).map((r) => r.name)).toEqual(['in-one']);
    expect((await other.list('*')).map((r) => r.name)).toEqual(['in-other-tables']);
  });
});
