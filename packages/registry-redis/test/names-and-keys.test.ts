import { randomBytes } from 'node:crypto';
import { type InstanceRecord, matchName } from '@sidecar/core';
import { testRecord } from '@sidecar/core/testing';
import { KeyLayout, RedisRegistry } from '@sidecar/registry-redis';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../../test/setup/servers/index.js';
import { clusterNodes, TEST_PREFIX } from './helpers.js';

/** Names chosen to break naive key schemes: separators, hash-tag braces, unicode, look-alikes. */
const TRICKY = [
  'a',
  'a:b',
  'a:',
  ':a',
  'b{a}',
  '{a}',
  '}{',
  'records',
  'expiry',
  'name:61',
  'events',
  'ünïcødé-名前-🚀',
  'ünicode', // its decomposed form (u + U+0308) is refused as a look-alike name (not NFC)
];

describe('redis registry: names and keys', () => {
  const made: RedisRegistry[] = [];
  afterAll(async () => {
    await Promise.all(made.map((r) => r.stop()));
  });

  it('round-trips tricky names without collision, and never sends KEYS', async () => {
    const server = await startRedis();
    const client = new Redis(server.url);
    const monitor = await client.monitor(); // a connection of its own
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(String(args[0])));
    try {
      const registry = new RedisRegistry({ url: server.url, namespace: 'a:{b}%', sweepInterval: 20 });
      made.push(registry);
      await registry.start();
      await registry.watch();
      const ids = new Map<string, string>();
      for (const name of TRICKY) {
        const record = testRecord(name);
        ids.set(name, record.instanceId);
        await registry.register(record, 10_000);
      }
      for (const name of TRICKY) {
        const found = await registry.lookup(name, { fresh: true });
        expect(found.map((r) => [r.name, r.instanceId])).toEqual([[name, ids.get(name)]]);
      }
      const listed = (await registry.list('*')).map((r) => r.name).sort();
      expect(listed).toEqual([...TRICKY].sort());
      for (const pattern of ['a*', '*:*', '*{*', '?', '*名前*']) {
        const got = (await registry.list(pattern)).map((r: InstanceRecord) => r.name).sort();
        expect(got).toEqual(TRICKY.filter((n) => matchName(pattern, n)).sort());
      }
      await registry.renew(ids.get('a:b') as string, 10_000);
      await registry.deregister(ids.get('a') as string);
      expect(await registry.lookup('a:b', { fresh: true })).toHaveLength(1);
      expect(await registry.lookup('a', { fresh: true })).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 100)); // a few sweeps
    } finally {
      monitor.disconnect();
      client.disconnect();
      await server.stop();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.map((c) => c.toLowerCase())).not.toContain('keys');
  });

  it('keeps every key of a namespace in one Cluster slot, named as documented', async () => {
    const namespace = `slot-${randomBytes(3).toString('hex')}`;
    const registry = new RedisRegistry({
      cluster: { nodes: clusterNodes() },
      prefix: TEST_PREFIX,
      namespace,
    });
    made.push(registry);
    await registry.start();
    for (const name of TRICKY) await registry.register(testRecord(name), 10_000);
    const cluster = registry.client as Cluster;
    const keys = new KeyLayout(TEST_PREFIX, namespace);
    expect(keys.tag).toBe(`{${TEST_PREFIX}:${namespace}}`);
    const all = [keys.ids, keys.names, keys.expiry, ...TRICKY.map((n) => keys.name(n))];
    const slots = new Set<number>();
    for (const key of all) {
      slots.add(Number(await cluster.call('CLUSTER', 'KEYSLOT', key)));
      expect(await cluster.exists(key)).toBe(1);
    }
    expect(slots.size).toBe(1);
    expect(await cluster.type(keys.ids)).toBe('hash');
    expect(await cluster.type(keys.names)).toBe('set');
    expect(await cluster.type(keys.expiry)).toBe('zset');
    expect(await cluster.hlen(keys.name('a:b'))).toBe(1);
    expect(await cluster.scard(keys.names)).toBe(TRICKY.length);
  });

  it('encodes namespaces that are not plain, so they cannot collide or move the slot', () => {
    expect(new KeyLayout('p', 'shop-1').tag).toBe('{p:shop-1}');
    const odd = new KeyLayout('p', 'a}b:c');
    expect(odd.tag).toMatch(/^\{p:~[A-Za-z0-9_-]+\}$/);
    expect(new KeyLayout('p', 'a').tag).not.toBe(new KeyLayout('p', '~a').tag);
    expect(() => new KeyLayout('bad{prefix', 'x')).toThrow(/prefix/);
  });
});
