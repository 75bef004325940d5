import { type InstanceRecord, MemoryRegistry } from '@sidecar/core';
import { eventually, testRecord } from '@sidecar/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

/** A memory registry that notes the signal each storage hook was given. */
class SignalSpy extends MemoryRegistry {
  readonly seen = new Map<string, AbortSignal | undefined>();
  protected override put(record: InstanceRecord, ttlMs: number, signal?: AbortSignal) {
    this.seen.set('put', signal);
    return super.put(record, ttlMs);
  }
  protected override touch(instanceId: string, ttlMs: number, signal?: AbortSignal) {
    this.seen.set('touch', signal);
    return super.touch(instanceId, ttlMs);
  }
  protected override remove(instanceId: string, signal?: AbortSignal) {
    this.seen.set('remove', signal);
    return super.remove(instanceId);
  }
  protected override fetchByName(name: string, signal?: AbortSignal) {
    this.seen.set('fetchByName', signal);
    return super.fetchByName(name);
  }
  protected override fetchAll(pattern: string, signal?: AbortSignal) {
    this.seen.set('fetchAll', signal);
    return super.fetchAll(pattern);
  }
  protected override sweep(signal?: AbortSignal) {
    this.seen.set('sweep', signal);
    return super.sweep();
  }
  protected override subscribe(deliver: (change: unknown) => void, signal?: AbortSignal) {
    this.seen.set('subscribe', signal);
    return super.subscribe(deliver);
  }
  protected override connect(signal?: AbortSignal) {
    this.seen.set('connect', signal);
    return super.connect();
  }
}

const made: SignalSpy[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((r) => r.stop()));
});

describe('BaseRegistry: the AbortSignal reaches the storage hooks', () => {
  it("passes the caller's signal to every hook a call runs", async () => {
    const registry = new SignalSpy({ store: 'hook-signals', sweepInterval: 60_000, cacheTtl: 0 });
    made.push(registry);
    const { signal } = new AbortController();
    await registry.start({ signal });
    const record = await registry.register(testRecord('billing'), 5000, { signal });
    await registry.renew(record.instanceId, 5000, { signal });
    await registry.lookup('billing', { signal });
    await registry.list('*', { signal });
    await registry.watch({ signal });
    await registry.deregister(record.instanceId, { signal });
    for (const hook of ['connect', 'put', 'touch', 'fetchByName', 'fetchAll', 'subscribe', 'remove'])
      expect(registry.seen.get(hook), hook).toBe(signal);
  });

  it('calls no hook for a call whose signal has already aborted', async () => {
    const registry = new SignalSpy({ store: 'hook-signals-aborted' });
    made.push(registry);
    await registry.start();
    const controller = new AbortController();
    controller.abort();
    await expect(
      registry.register(testRecord('billing'), 5000, { signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'SIDECAR_ERR_ABORTED' });
    expect(registry.seen.has('put')).toBe(false);
  });

  it('gives sweep a signal that stop() aborts', async () => {
    const registry = new SignalSpy({ store: 'hook-signals-sweep', sweepInterval: 10 });
    made.push(registry);
    await registry.start();
    await eventually(() => expect(registry.seen.get('sweep')).toBeInstanceOf(AbortSignal));
    const sweepSignal = registry.seen.get('sweep') as AbortSignal;
    expect(sweepSignal.aborted).toBe(false);
    await registry.stop();
    expect(sweepSignal.aborted).toBe(true);
  });
});
