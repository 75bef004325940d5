import { createSidecar, type InstanceRecord, type SidecarError } from '@sidecar/core';
import { eventually, recordEvents, testRecord } from '@sidecar/core/testing';
import { SqlRegistry } from '@sidecar/registry-sql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresServer, startPostgres } from '../../../test/setup/servers/index.js';

// This test wipes its own server's database: the shared one serves other test files meanwhile.
let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe('postgres wiped under running peers', () => {
  it('creates its tables again and running peers re-register, with no other process migrating', async () => {
    const options = { url: server.url, namespace: 'wiped', sweepInterval: 100 };
    const watcher = new SqlRegistry(options);
    const warnings: SidecarError[] = [];
    watcher.on('warning', (w) => warnings.push(w));
    const app = createSidecar({
      name: 'survivor',
      registry: server.url as `postgres://${string}`,
      namespace: 'wiped',
      ttl: 1500,
    });
    app.on('warning', (w) => warnings.push(w));
    try {
      await watcher.start();
      await app.start();
      await watcher.watch();
      const seen = recordEvents(watcher);
      expect(await watcher.lookup('survivor', { fresh: true })).toHaveLength(1);

      // Everything the registry made is gone: tables, function, migrations record.
      await sql('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
      await server.kill();
      await server.restart();

      // The heartbeat finds the tables gone; the registry migrates again and the peer re-registers.
      await eventually(async () => {
        const found = await watcher.lookup('survivor', { fresh: true });
        expect(found.map((r) => r.instanceId)).toEqual([app.instanceId]);
      }, 15_000);
      // Whichever of the two met the missing tables first said so.
      expect(warnings.some((w) => /tables were gone/.test(w.message))).toBe(true);
      // Writes and events work again.
      const later = testRecord('later');
      await watcher.register(later, 10_000);
      await eventually(
        () => expect(seen.join.map((r) => (r as InstanceRecord).name)).toContain('later'),
        10_000,
      );
      expect((await watcher.list('*')).map((r) => r.name).sort()).toEqual(['later', 'survivor']);
    } finally {
      await app.stop();
      await watcher.stop();
    }
  });

  it('a recorded migration whose table was dropped by hand is applied again', async () => {
    const registry = new SqlRegistry({ url: server.url, namespace: 'dropped' });
    try {
      await registry.start();
      await sql('DROP TABLE sidecar_instances');
      const record = testRecord('back');
      await registry.register(record, 10_000);
      expect((await registry.lookup('back', { fresh: true })).map((r) => r.instanceId)).toEqual([
        record.instanceId,
      ]);
    } finally {
      await registry.stop();
    }
  });
});
