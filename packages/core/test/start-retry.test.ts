import { randomBytes } from 'node:crypto';
import {
  AbortError,
  CONFIG,
  createSidecar,
  MemoryRegistry,
  openRegistry,
  RegistryAuthError,
  type RegistryPlugin,
  RegistryUnavailableError,
  resolve,
  type Sidecar,
  type SidecarError,
} from '@sidecar/core';
import { afterEach, describe, expect, it } from 'vitest';

function unreachable(): Error {
  return Object.assign(new Error('connect ENETUNREACH'), { code: 'ENETUNREACH' });
}

/**
 * A memory registry whose `start()` fails like an unreachable server (the network is not up yet)
 * until `failures` tries have failed. Stands in for a link that comes up; the real link-down
 * scenario is test/reliability/netns-start-offline.test.ts.
 */
class LateRegistry extends MemoryRegistry {
  static failures = 0;
  static error: () => Error = unreachable;
  static tries = 0;
  protected override async connect(): Promise<void> {
    LateRegistry.tries++;
    if (LateRegistry.failures-- > 0) throw LateRegistry.error();
  }
}

function late(store: string, failures: number, error?: () => Error): RegistryPlugin {
  LateRegistry.failures = failures;
  LateRegistry.tries = 0;
  LateRegistry.error = error ?? unreachable;
  return {
    kind: 'registry',
    name: 'late',
    create: (container) => new LateRegistry({ namespace: resolve(container, CONFIG).namespace, store }),
  };
}

const running: Sidecar[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

describe('start() while the registry cannot be reached yet', () => {
  it('keeps trying within startTimeout, then registers by itself', async () => {
    const store = randomBytes(4).toString('hex');
    const app = createSidecar({
      name: 'early',
      registry: late(store, 3),
      transports: ['memory'],
      startTimeout: 30_000,
    });
    running.push(app);
    const warnings: SidecarError[] = [];
    app.on('warning', (w) => warnings.push(w));
    await app.start();
    expect(app.state).toBe('started');
    expect(LateRegistry.tries).toBe(4);
    expect(warnings.filter((w) => w instanceof RegistryUnavailableError)).toHaveLength(3);
    const registry = await openRegistry(`memory:${store}`);
    expect((await registry.lookup('early', { fresh: true })).map((r) => r.instanceId)).toEqual([
      app.instanceId,
    ]);
    await registry.stop();
  });

  it('tries once by default and rejects with REGISTRY_UNAVAILABLE', async () => {
    const app = createSidecar({ name: 'once', registry: late('x', 1), transports: ['memory'] });
    running.push(app);
    await expect(app.start()).rejects.toBeInstanceOf(RegistryUnavailableError);
    expect(LateRegistry.tries).toBe(1);
    expect(app.state).toBe('stopped');
  });

  it('does not retry an error no retry cures', async () => {
    const app = createSidecar({
      name: 'auth',
      registry: late('y', 5, () => new RegistryAuthError('wrong password')),
      transports: ['memory'],
      startTimeout: 600_000,
    });
    running.push(app);
    await expect(app.start()).rejects.toBeInstanceOf(RegistryAuthError);
    expect(LateRegistry.tries).toBe(1);
  });

  it('ends the wait when its signal aborts', async () => {
    const app = createSidecar({
      name: 'aborted',
      registry: late('z', 1_000_000),
      transports: ['memory'],
      startTimeout: Number.POSITIVE_INFINITY,
    });
    running.push(app);
    const controller = new AbortController();
    const started = app.start({ signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    const err = await started.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(LateRegistry.tries).toBeGreaterThan(1);
    expect(app.state).toBe('stopped');
  });
});

describe('stop() while start() waits for the registry', () => {
  it('ends the wait: start() rejects, stop() resolves, nothing is left running', async () => {
    const app = createSidecar({
      name: 'stopped-early',
      registry: late('w', 1_000_000),
      transports: ['memory'],
      startTimeout: Number.POSITIVE_INFINITY,
    });
    const warned = new Promise((resolve) => app.once('warning', resolve));
    const starting = app.start().catch((e: unknown) => e);
    await warned;
    await app.stop();
    expect(await starting).toBeInstanceOf(AbortError);
    expect(app.state).toBe('stopped');
  });
});
