import { createSidecar, type PeerInfo, type Sidecar, type SidecarError } from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import { redisRegistry } from '@sidecar/registry-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../../test/setup/servers/index.js';

const TTL = 1500;
const HEARTBEAT = 500;

describe('redis registry: Redis killed and restarted empty under running peers', () => {
  let server: RedisServer;
  const apps: Sidecar[] = [];
  const rejections: unknown[] = [];
  const exceptions: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  const onException = (err: unknown) => exceptions.push(err);

  beforeAll(async () => {
    server = await startRedis();
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await server.stop();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });

  function app(name: string, restoreOnReconnect: boolean): Sidecar {
    const a = createSidecar({
      name,
      namespace: 'restart',
      registry: redisRegistry({ url: server.url, restoreOnReconnect }),
      ttl: TTL,
      heartbeatInterval: HEARTBEAT,
    });
    apps.push(a);
    return a;
  }

  it('keeps serving cached lookups, re-registers everyone, and resumes events', async () => {
    // alpha comes back through core's heartbeat (renew -> RecordNotFound -> register);
    // beta also through the registry's own restore-on-reconnect.
    const alpha = app('alpha', false);
    const beta = app('beta', true);
    const watcher = app('watcher', true);
    const warnings: SidecarError[] = [];
    watcher.on('warning', (w) => warnings.push(w));
    const joined: PeerInfo[] = [];
    watcher.on('join', (p) => joined.push(p));
    await Promise.all([alpha.start(), beta.start(), watcher.start()]);
    expect(await watcher.registry.lookup('alpha')).toHaveLength(1); // cached from here on

    await server.kill();
    // While Redis is down: cached lookups keep serving (even `fresh` ones fall back to the
    // cache); a name never looked up fails with a typed, retryable error.
    expect(await watcher.registry.lookup('alpha')).toHaveLength(1);
    expect(await watcher.registry.lookup('alpha', { fresh: true })).toHaveLength(1);
    await expect(watcher.registry.lookup('never-cached', { fresh: true })).rejects.toMatchObject({
      code: 'SIDECAR_ERR_REGISTRY_UNAVAILABLE',
    });
    await eventually(() => expect(warnings.length).toBeGreaterThan(0), 5000);
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT * 2)); // heartbeats fail meanwhile

    await server.restart(); // empty: nothing was persisted
    await eventually(
      async () => {
        const names = (await watcher.registry.list('*')).map((r) => r.name).sort();
        expect(names).toEqual(['alpha', 'beta', 'watcher']);
      },
      10_000,
      50,
    );

    // The subscription is back: a new peer's join reaches the watcher.
    const late = app('late', true);
    await late.start();
    await eventually(() => expect(joined.map((p) => p.name)).toContain('late'), 5000);
    expect(await watcher.registry.lookup('late', { fresh: true })).toHaveLength(1);

    // And the re-registered records stay alive on their heartbeats.
    await new Promise((resolve) => setTimeout(resolve, TTL + HEARTBEAT));
    const names = (await watcher.registry.list('*')).map((r) => r.name).sort();
    expect(names).toEqual(['alpha', 'beta', 'late', 'watcher']);
    expect(rejections).toEqual([]);
    expect(exceptions).toEqual([]);
  });
});
