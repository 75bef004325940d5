import { createSidecar, type InstanceRecord, RegistryUnavailableError, type Sidecar } from '@sidecar/core';
import { eventually, recordEvents, testRecord } from '@sidecar/core/testing';
import { SqlRegistry } from '@sidecar/registry-sql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresServer, startPostgres } from '../../../test/setup/servers/index.js';

// This test kills its own server: the shared one serves other test files meanwhile.
let server: PostgresServer;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  server = await startPostgres();
});
afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await server?.stop();
});

describe('postgres restarted under running peers', () => {
  it('serves cached lookups, retries, re-establishes LISTEN and re-registers lost records', async () => {
    const options = { url: server.url, namespace: 'restart', sweepInterval: 100, watchedCacheTtl: 60_000 };
    const writer = new SqlRegistry(options);
    const watcher = new SqlRegistry(options);
    const app: Sidecar = createSidecar({
      name: 'steady',
      registry: server.url as `postgres://${string}`,
      namespace: 'restart',
      ttl: 1500,
    });
    try {
      await Promise.all([writer.start(), watcher.start()]);
      await app.start();
      await watcher.watch();
      const seen = recordEvents(watcher);
      const first = testRecord('before');
      await writer.register(first, 60_000);
      await eventually(
        () => expect(seen.join.map((r) => (r as InstanceRecord).name)).toContain('before'),
        3000,
      );
      expect(await watcher.lookup('before')).toHaveLength(1);

      await server.kill();

      // Meanwhile: cached lookups keep answering (also when asked for fresh data), writes fail as retryable.
      expect(await watcher.lookup('before')).toHaveLength(1);
      expect(await watcher.lookup('before', { fresh: true })).toHaveLength(1);
      const failed = await writer.renew(first.instanceId, 60_000).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(RegistryUnavailableError);
      expect((failed as RegistryUnavailableError).retryable).toBe(true);

      await server.restart();

      // The pool reconnects; renew works again.
      await eventually(() => writer.renew(first.instanceId, 60_000), 10_000);
      // LISTEN is back: a new join reaches the watcher.
      const second = testRecord('after');
      await writer.register(second, 60_000);
      await eventually(
        () => expect(seen.join.map((r) => (r as InstanceRecord).name)).toContain('after'),
        10_000,
      );
      await writer.register(testRecord('later'), 60_000);
      await eventually(
        () => expect(seen.join.map((r) => (r as InstanceRecord).name)).toContain('later'),
        10_000,
      );
      expect(seen.join.filter((r) => (r as InstanceRecord).name === 'after')).toHaveLength(1);

      // The server lost its data: the sidecar's heartbeat registers its record again.
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      await client.query('DELETE FROM sidecar_instances');
      await client.end();
      await eventually(async () => {
        const found = await writer.lookup('steady', { fresh: true });
        expect(found.map((r) => r.instanceId)).toEqual([app.instanceId]);
      }, 10_000);
      expect(rejections).toEqual([]);
    } finally {
      await app.stop();
      await Promise.all([writer.stop(), watcher.stop()]);
    }
  });
});
