import { randomBytes } from 'node:crypto';
import type { InstanceRecord, SidecarError } from '@sidecar/core';
import { eventually, testRecord } from '@sidecar/core/testing';
import { KeyLayout, RedisRegistry } from '@sidecar/registry-redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisUrl, TEST_PREFIX, writeByHand } from './helpers.js';

describe('redis registry: values written by hand', () => {
  const made: RedisRegistry[] = [];
  const raw = new Redis(redisUrl());
  afterAll(async () => {
    await Promise.all(made.map((r) => r.stop()));
    raw.disconnect();
  });

  it('skips malformed records with a warning, and survives garbage on the events channel', async () => {
    const namespace = `bad-${randomBytes(3).toString('hex')}`;
    const keys = new KeyLayout(TEST_PREFIX, namespace);
    const registry = new RedisRegistry({
      url: redisUrl(),
      prefix: TEST_PREFIX,
      namespace,
      sweepInterval: 50,
    });
    made.push(registry);
    const warnings: SidecarError[] = [];
    const joins: InstanceRecord[] = [];
    registry.on('warning', (w) => warnings.push(w));
    registry.on('join', (r) => joins.push(r));
    await registry.start();
    await registry.watch();
    const good = testRecord('svc');
    await registry.register(good, 10_000);

    const bogus = {
      'not-json': 'hello there',
      number: '42',
      array: '[1,2,3]',
      'bad-port': JSON.stringify({
        ...testRecord('svc'),
        endpoints: [{ transport: 'tcp', host: 'x', port: 0 }],
      }),
      'bad-name': JSON.stringify({ ...testRecord('svc'), name: 'has space' }),
    };
    for (const [id, value] of Object.entries(bogus)) await writeByHand(raw, keys, 'svc', id, value);
    await raw.publish(keys.channel, 'garbage that is not JSON');
    await raw.publish(keys.channel, JSON.stringify({ type: 'explode', record: {} }));

    const found = await registry.lookup('svc', { fresh: true });
    expect(found.map((r) => r.instanceId)).toEqual([good.instanceId]);
    expect((await registry.list('*')).map((r) => r.instanceId)).toEqual([good.instanceId]);
    await eventually(() => expect(warnings.length).toBeGreaterThanOrEqual(Object.keys(bogus).length + 2));
    expect(warnings.every((w) => w.code === 'SIDECAR_ERR_INVALID_RECORD')).toBe(true);

    // The registry still works, and the sweeper leaves foreign garbage alone without failing.
    const other = testRecord('other');
    await registry.register(other, 200);
    await eventually(() => expect(joins.map((r) => r.name)).toContain('other'));
    await eventually(async () => expect(await registry.lookup('other', { fresh: true })).toEqual([]), 3000);
    expect(await raw.hexists(keys.name('svc'), 'not-json')).toBe(1);
  });

  it('renews in place: the expiry score and the expiresAt at the end of the stored JSON', async () => {
    const namespace = `score-${randomBytes(3).toString('hex')}`;
    const keys = new KeyLayout(TEST_PREFIX, namespace);
    const registry = new RedisRegistry({ url: redisUrl(), prefix: TEST_PREFIX, namespace });
    made.push(registry);
    await registry.start();
    const input = testRecord('scored', { metadata: { expiresAt: 7, note: ',"expiresAt":1}' } });
    const stored = await registry.register(input, 10_000);
    await registry.renew(input.instanceId, 20_000);
    const [renewed] = await registry.lookup('scored', { fresh: true });
    expect(renewed?.expiresAt).toBeGreaterThan(stored.expiresAt);
    expect(renewed?.metadata).toEqual(input.metadata);
    expect(Number(await raw.zscore(keys.expiry, input.instanceId))).toBe(renewed?.expiresAt);
    const json = JSON.parse((await raw.hget(keys.name('scored'), input.instanceId)) as string);
    expect(json.expiresAt).toBe(renewed?.expiresAt);
  });

  it('keeps a namespace working when one of its keys holds the wrong type (a string)', async () => {
    const namespace = `wrongtype-${randomBytes(3).toString('hex')}`;
    const keys = new KeyLayout(TEST_PREFIX, namespace);
    const registry = new RedisRegistry({
      url: redisUrl(),
      prefix: TEST_PREFIX,
      namespace,
      sweepInterval: 50,
    });
    made.push(registry);
    const warnings: SidecarError[] = [];
    registry.on('warning', (w) => warnings.push(w));
    await registry.start();
    const good = testRecord('fine');
    await registry.register(good, 10_000);
    // `{sidecar:NS}:name:<hex>` holding a string, as a person with redis-cli could leave it,
    // and listed among the names so every read of the namespace meets it.
    await raw.set(keys.name('victim'), 'a string where a hash belongs');
    await raw.sadd(keys.names, Buffer.from('victim').toString('hex'));

    // peers('*') still answers (it failed for the whole namespace with WRONGTYPE) ...
    expect((await registry.list('*')).map((r) => r.instanceId)).toEqual([good.instanceId]);
    expect(await registry.lookup('victim', { fresh: true })).toEqual([]);
    expect(
      warnings.some((w) => w.code === 'SIDECAR_ERR_INVALID_RECORD' && /victim|name:/.test(w.message)),
    ).toBe(true);
    // ... and the name is registrable: the string is moved aside (kept for inspection), not lost.
    const victim = testRecord('victim');
    await registry.register(victim, 10_000);
    expect((await registry.lookup('victim', { fresh: true })).map((r) => r.instanceId)).toEqual([
      victim.instanceId,
    ]);
    const aside = await raw.keys(`${keys.name('victim')}:quarantined:*`);
    expect(aside).toHaveLength(1);
    expect(await raw.get(aside[0] as string)).toBe('a string where a hash belongs');

    // The same for the namespace's indexes: a string where the expiry sorted set belongs.
    await raw.del(keys.expiry);
    await raw.set(keys.expiry, 'garbage');
    expect(await registry.list('*')).toEqual([]); // no expiry known: nothing counts as live ...
    await registry.renew(good.instanceId, 10_000).catch(() => registry.register(good, 10_000)); // ... until a write heals it
    await registry.renew(victim.instanceId, 10_000).catch(() => registry.register(victim, 10_000));
    expect((await registry.list('*')).map((r) => r.instanceId).sort()).toEqual(
      [good.instanceId, victim.instanceId].sort(),
    );
  });
  it('a write whose fast path meets a wrong-typed key midway is redone whole: one join, nothing half-written', async () => {
    const namespace = `midway-${randomBytes(3).toString('hex')}`;
    const keys = new KeyLayout(TEST_PREFIX, namespace);
    const registry = new RedisRegistry({ url: redisUrl(), prefix: TEST_PREFIX, namespace });
    const watcher = new RedisRegistry({ url: redisUrl(), prefix: TEST_PREFIX, namespace });
    made.push(registry, watcher);
    const warnings: SidecarError[] = [];
    registry.on('warning', (w) => warnings.push(w));
    await Promise.all([registry.start(), watcher.start()]);
    await watcher.watch();
    const events: string[] = [];
    watcher.on('join', (r) => events.push(`join ${r.instanceId}`));
    watcher.on('update', (r) => events.push(`update ${r.instanceId}`));
    // The names set is the LAST key the register fast path touches: the per-name hash and the
    // expiry are already written when SADD fails on the string.
    await raw.set(keys.names, 'not a set');
    const input = testRecord('midway');
    const stored = await registry.register(input, 10_000);
    expect((await registry.lookup('midway', { fresh: true })).map((r) => r.instanceId)).toEqual([
      input.instanceId,
    ]);
    expect(await raw.type(keys.names)).toBe('set');
    expect(await raw.keys(`${keys.names}:quarantined:*`)).toHaveLength(1);
    expect(Number(await raw.zscore(keys.expiry, input.instanceId))).toBe(stored.expiresAt);
    expect(warnings.some((w) => w.code === 'SIDECAR_ERR_INVALID_RECORD')).toBe(true);
    // A renew whose record hash went bad falls to the general path and says the record is gone.
    await raw.del(keys.name('midway'));
    await raw.set(keys.name('midway'), 'not a hash');
    await expect(registry.renew(input.instanceId, 10_000)).rejects.toMatchObject({
      code: 'SIDECAR_ERR_RECORD_NOT_FOUND',
    });
    await eventually(() => expect(events).toEqual([`join ${input.instanceId}`]));
  });
  it('an instance registered again under another name leaves the old name (join, then update)', async () => {
    const namespace = `rename-${randomBytes(3).toString('hex')}`;
    const keys = new KeyLayout(TEST_PREFIX, namespace);
    const registry = new RedisRegistry({ url: redisUrl(), prefix: TEST_PREFIX, namespace });
    const watcher = new RedisRegistry({ url: redisUrl(), prefix: TEST_PREFIX, namespace });
    made.push(registry, watcher);
    await Promise.all([registry.start(), watcher.start()]);
    await watcher.watch();
    const events: string[] = [];
    watcher.on('join', (r) => events.push(`join ${r.name}`));
    watcher.on('update', (r) => events.push(`update ${r.name}`));
    const first = testRecord('alpha');
    await registry.register(first, 10_000);
    await registry.register({ ...first, name: 'beta' }, 10_000);
    expect(await registry.lookup('alpha', { fresh: true })).toEqual([]);
    expect((await registry.lookup('beta', { fresh: true })).map((r) => r.instanceId)).toEqual([
      first.instanceId,
    ]);
    expect(await raw.exists(keys.name('alpha'))).toBe(0);
    expect(await raw.smembers(keys.names)).toEqual([Buffer.from('beta').toString('hex')]);
    await eventually(() => expect(events).toEqual(['join alpha', 'update beta']));
  });
});
