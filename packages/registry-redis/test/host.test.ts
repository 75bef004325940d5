import { RedisRegistry } from '@sidecar/registry-redis';
import { describe, expect, it } from 'vitest';

describe('RedisRegistry.host', () => {
  it('is the host the registry is reached at, from the URL, the cluster or the sentinels', () => {
    expect(new RedisRegistry({ url: 'redis://u:p@10.0.0.5:6379/2' }).host).toBe('10.0.0.5');
    expect(new RedisRegistry({ url: 'rediss://[::1]:6380' }).host).toBe('::1');
    expect(new RedisRegistry({ url: 'redis://cache.internal' }).host).toBe('cache.internal');
    expect(new RedisRegistry().host).toBe('127.0.0.1');
    expect(new RedisRegistry({ cluster: { nodes: [{ host: '10.1.0.1', port: 7000 }] } }).host).toBe(
      '10.1.0.1',
    );
    expect(new RedisRegistry({ cluster: { nodes: ['redis://10.1.0.2:7000'] } }).host).toBe('10.1.0.2');
    expect(
      new RedisRegistry({ sentinel: { name: 'm', sentinels: [{ host: '10.2.0.1', port: 26379 }] } }).host,
    ).toBe('10.2.0.1');
  });
});
