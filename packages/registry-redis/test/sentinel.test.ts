import { InvalidConfigError } from '@sidecar/core';
import { testRecord } from '@sidecar/core/testing';
import { RedisRegistry } from '@sidecar/registry-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis, waitUntil } from '../../../test/setup/servers/index.js';

describe('redis registry: Sentinel and option checks', () => {
  let master: RedisServer;
  let sentinel: RedisServer | undefined;
  let sentinelPort = 0;

  beforeAll(async () => {
    master = await startRedis();
    sentinel = await startRedis({
      dir: master.dir,
      sentinel: `sentinel monitor main 127.0.0.1 ${master.port} 1\n`,
    });
    sentinelPort = sentinel.port;
    await waitUntil('redis sentinel', async () => {
      const probe = new Redis({
        port: sentinelPort,
        host: '127.0.0.1',
        lazyConnect: true,
        retryStrategy: () => null,
      });
      probe.on('error', () => {}); // refused until the sentinel listens
      try {
        await probe.connect();
        const reply = (await probe.call('SENTINEL', 'get-master-addr-by-name', 'main')) as string[] | null;
        return Array.isArray(reply) && reply[1] === String(master.port);
      } finally {
        probe.disconnect();
      }
    });
  });

  afterAll(async () => {
    await sentinel?.stop();
    await master.stop();
  });

  it('finds the master through Sentinel and works on it', async () => {
    const registry = new RedisRegistry({
      sentinel: { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'main' },
      namespace: 'sentinel',
    });
    try {
      await registry.start();
      const record = testRecord('behind-sentinel');
      await registry.register(record, 10_000);
      const found = await registry.lookup('behind-sentinel', { fresh: true });
      expect(found.map((r) => r.instanceId)).toEqual([record.instanceId]);
    } finally {
      await registry.stop();
    }
  });

  it('rejects options it cannot honour with InvalidConfigError', () => {
    expect(() => new RedisRegistry({ url: 'http://127.0.0.1' })).toThrow(InvalidConfigError);
    expect(() => new RedisRegistry({ redis: { keyPrefix: 'x:' } })).toThrow(InvalidConfigError);
    expect(() => new RedisRegistry({ prefix: 'has space' })).toThrow(InvalidConfigError);
  });
});
