import { MemoryRegistry } from '@sidecar/core';
import { DEFAULT_MAX_CACHED_NAMES } from '@sidecar/core/plugin-kit';
import { eventually, recordEvents, testRecord } from '@sidecar/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Heartbeat } from '../src/lifecycle/heartbeat.js';

const made: MemoryRegistry[] = [];
function open(store: string, options: ConstructorParameters<typeof MemoryRegistry>[0] = {}): MemoryRegistry {
  const registry = new MemoryRegistry({ store, sweepInterval: 50, ...options });
  made.push(registry);
  return registry;
}
afterEach(async () => {
  await Promise.all(made.splice(0).map((r) => r.stop()));
});

describe('BaseRegistry: bounded lookup cache', () => {
  it('300,000 distinct names looked up keep at most maxCachedNames cached (default 10,000)', async () => {
    const registry = open('cache-bound');
    await registry.start();
    expect(registry.maxCachedNames).toBe(DEFAULT_MAX_CACHED_NAMES);
    for (let i = 0; i < 300_000; i += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, j) => registry.lookup(`name-${i + j}`)));
    }
    expect(registry.cachedNames).toBe(DEFAULT_MAX_CACHED_NAMES);
  });

  it('drops the least recently used name first', async () => {
    const registry = open('cache-lru', { maxCachedNames: 2, cacheTtl: 60_000 });
    const writer = open('cache-lru');
    await Promise.all([registry.start(), writer.start()]);
    await writer.register(testRecord('a'), 60_000);
    await registry.lookup('a');
    await registry.lookup('b');
    await registry.lookup('a'); // a is now the most recent
    await registry.lookup('c'); // evicts b, not a
    expect(registry.cachedNames).toBe(2);
    registry.setOffline(true);
    expect(await registry.lookup('a')).toHaveLength(1); // still served from the cache
    await expect(registry.lookup('b')).rejects.toMatchObject({ code: 'SIDECAR_ERR_REGISTRY_UNAVAILABLE' });
  });
});

describe('BaseRegistry + Heartbeat: an outage never expires a live record', () => {
  it('retries a failed heartbeat quickly and renews with a full lifetime when the registry is back', async () => {
    const peer = open('outage');
    const watcher = open('outage');
    await Promise.all([peer.start(), watcher.start()]);
    await watcher.watch();
    const seen = recordEvents(watcher);
    const record = testRecord('steady');
    const ttl = 2600;
    await peer.register(record, ttl);
    const failures: unknown[] = [];
    // Beats every second. An outage of 2.05 s right after a renew misses the next two beats:
    // before quick retries, the third beat came 400 ms after the record expired.
    const heartbeat = new Heartbeat(peer, () => record, ttl, 1000, {
      onFailure: (e) => failures.push(e),
      onReregistered: () => {},
    });
    peer.setOffline(true);
    heartbeat.start();
    try {
      await new Promise((r) => setTimeout(r, 2050));
      peer.setOffline(false);
      await new Promise((r) => setTimeout(r, 1500));
      expect(failures.length).toBeGreaterThan(0);
      expect(seen.timeout).toEqual([]);
      await eventually(async () => expect(await watcher.lookup('steady', { fresh: true })).toHaveLength(1));
    } finally {
      heartbeat.stop();
    }
  });
});

describe('BaseRegistry: register input', () => {
  it('refuses what is not a record with InvalidRecordError, and keeps only the record fields', async () => {
    const registry = open('register-input');
    await registry.start();
    type Input = Parameters<MemoryRegistry['register']>[0];
    for (const bad of [null, undefined, 'svc', 42, []]) {
      await expect(registry.register(bad as unknown as Input, 60_000)).rejects.toMatchObject({
        code: 'SIDECAR_ERR_INVALID_RECORD',
      });
    }
    const input = { ...testRecord('fields'), extra: 'not stored', namespace: 'elsewhere' };
    const stored = await registry.register(input, 60_000);
    expect(stored).not.toHaveProperty('extra');
    expect(stored.namespace).toBe(registry.namespace);
    expect(await registry.lookup('fields', { fresh: true })).toEqual([stored]);
  });
});
