import { RegistryUnavailableError } from '@sidecar/core';
import { testRecord } from '@sidecar/core/testing';
import { RedisAuthError, RedisRegistry } from '@sidecar/registry-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../../test/setup/servers/index.js';

/** Much longer than a refused login takes: a typed error proves start() did not wait it out. */
const GENEROUS_TIMEOUT = 25_000;

describe('redis registry: authentication', () => {
  let server: RedisServer;
  const made: RedisRegistry[] = [];

  beforeAll(async () => {
    server = await startRedis({
      args: ['--requirepass', 's3cret', '--user', 'alice', 'on', '>wonder:land', '~*', '&*', '+@all'],
    });
  });

  afterAll(async () => {
    await Promise.all(made.map((r) => r.stop()));
    await server.stop();
  });

  function registry(url: string): RedisRegistry {
    const r = new RedisRegistry({ url, namespace: 'auth', connectTimeout: GENEROUS_TIMEOUT });
    made.push(r);
    return r;
  }

  it('connects with the default user password (requirepass) from the URL', async () => {
    const r = registry(`redis://:s3cret@127.0.0.1:${server.port}`);
    await r.start();
    const record = testRecord('guarded');
    await r.register(record, 10_000);
    expect((await r.lookup('guarded', { fresh: true })).map((x) => x.instanceId)).toEqual([
      record.instanceId,
    ]);
  });

  it('connects as an ACL user (URL-encoded password)', async () => {
    const r = registry(`redis://alice:${encodeURIComponent('wonder:land')}@127.0.0.1:${server.port}/0`);
    await r.start();
    expect(await r.lookup('guarded', { fresh: true })).toHaveLength(1);
  });

  it('takes credentials from ioredis options too', async () => {
    const r = new RedisRegistry({
      url: server.url,
      namespace: 'auth',
      redis: { username: 'alice', password: 'wonder:land' },
    });
    made.push(r);
    await r.start();
    expect(await r.lookup('guarded', { fresh: true })).toHaveLength(1);
  });

  it.each([
    ['a wrong password', ':nope@'],
    ['a wrong ACL password', 'alice:nope@'],
    ['an unknown ACL user', 'mallory:s3cret@'],
    ['no password at all', ''],
  ])('fails start() with a typed, non-retryable error on %s', async (_, credentials) => {
    const r = registry(`redis://${credentials}127.0.0.1:${server.port}`);
    const failure = await r.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(RedisAuthError);
    expect(failure).toMatchObject({ code: 'SIDECAR_ERR_REGISTRY_AUTH', retryable: false });
    expect(String((failure as Error).message)).toMatch(/credentials/);
    expect(r.started).toBe(false);
  });

  it('fails start() with RegistryUnavailableError when nothing listens', async () => {
    const dead = await startRedis();
    const url = dead.url;
    await dead.stop();
    const r = registry(url);
    await expect(r.start()).rejects.toBeInstanceOf(RegistryUnavailableError);
  });
});
