import type { InstanceRecord, SidecarError } from '@sidecar/core';
import { eventually, recordEvents, testRecord } from '@sidecar/core/testing';
import { SqlRegistry } from '@sidecar/registry-sql';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDbPath } from './helpers.js';

afterAll(removeTempDirs);

/**
 * SQLite types loosely: a column may hold any type whatever its declaration. Rows written by
 * another program (or by hand) with the wrong types must be skipped, never break the namespace.
 */
describe('sqlite registry: rows of the wrong types written by hand', () => {
  it('skips them with warnings; lookups, listing, sweeps, writes and watching keep working', async () => {
    const path = tempDbPath();
    const options = { url: `sqlite:${path}`, namespace: 'hostile', sweepInterval: 50 };
    const registry = new SqlRegistry(options);
    const watcher = new SqlRegistry(options);
    const warnings: SidecarError[] = [];
    registry.on('warning', (w) => warnings.push(w));
    try {
      await Promise.all([registry.start(), watcher.start()]);
      await watcher.watch();
      const seen = recordEvents(watcher);
      const good = testRecord('target');
      await registry.register(good, 10_000);

      const db = new Database(path);
      const insert = db.prepare(
        'INSERT INTO sidecar_instances (namespace, name, instance_id, expires_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const later = Date.now() + 60_000;
      insert.run('hostile', 'target', 'text-expiry', 'soon', 0, JSON.stringify({ ...testRecord('target') }));
      insert.run('hostile', 'target', 'blob-record', later, 0, Buffer.from('{"name":"target"}'));
      insert.run('hostile', 'target', 'number-record', later, 0, 42);
      insert.run('hostile', 'target', 'array-record', later, 0, '[1,2,3]');
      insert.run(
        'hostile',
        'target',
        'null-fields',
        later,
        0,
        JSON.stringify({ name: null, endpoints: null }),
      );
      insert.run('hostile', 'target', 'real-expiry', 1.5, 0, '{"name":"target"}'); // expired long ago, garbage
      db.close();

      expect((await registry.lookup('target', { fresh: true })).map((r) => r.instanceId)).toEqual([
        good.instanceId,
      ]);
      expect((await registry.list('*')).map((r) => r.instanceId)).toEqual([good.instanceId]);
      expect(warnings.length).toBeGreaterThanOrEqual(4);
      expect(warnings.every((w) => w.code === 'SIDECAR_ERR_INVALID_RECORD')).toBe(true);

      // The name stays registrable and watchable; a short-lived record times out (sweeps run over the garbage).
      const brief = testRecord('target');
      await registry.register(brief, 300);
      await eventually(
        () => expect(seen.timeout.map((r) => (r as InstanceRecord).instanceId)).toContain(brief.instanceId),
        5000,
      );
      expect((await watcher.lookup('target', { fresh: true })).map((r) => r.instanceId)).toEqual([
        good.instanceId,
      ]);
    } finally {
      await Promise.all([registry.stop(), watcher.stop()]);
    }
  });
});
