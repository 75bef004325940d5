import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Registry } from '../contracts/registry.js';
import { AbortError, InvalidNameError, RecordNotFoundError, type SidecarError } from '../errors.js';
import type { InstanceRecord } from '../records.js';
import { type RegistryHarness, recordEvents, testRecord } from './registry-harness.js';
import { eventually, sleep } from './wait.js';

export { type RegistryHarness, recordEvents, testRecord } from './registry-harness.js';

/**
 * The shared registry compliance suite. Every registry adapter runs it; so can yours.
 *
 * @example
 * ```ts
 * import { registryComplianceSuite } from '@sidecar/core/testing';
 * registryComplianceSuite('my registry', {
 *   create: (o) => new MyRegistry(o),
 *   injectMalformed: async (ns, name) => { ... },
 * });
 * ```
 */
export function registryComplianceSuite(label: string, harness: RegistryHarness): void {
  const propagation = harness.propagationMs ?? 2000;

  describe(`registry compliance: ${label}`, () => {
    const made: Registry[] = [];
    let namespace = '';

    async function open(overrides: { sweepInterval?: number; cacheTtl?: number } = {}): Promise<Registry> {
      const registry = await harness.create({ namespace, sweepInterval: 100, cacheTtl: 0, ...overrides });
      made.push(registry);
      await registry.start();
      return registry;
    }

    afterEach(async () => {
      await Promise.all(made.splice(0).map((r) => r.stop()));
    });

    it('registers a record and looks it up by name, every field intact', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const registry = await open();
      const name = `it's"quoted"ünïcødé名前;DROP_TABLE_x;--:{slot}*`.replace('*', '');
      const input = testRecord(name, {
        methods: ['greet', 'charge'],
        metadata: { version: '1.2.3', weight: 2, tags: ['a', 'b'], nested: { ok: true }, none: null },
        endpoints: [
          { transport: 'tls', host: '127.0.0.1', port: 4433 },
          { transport: 'tcp', host: '127.0.0.1', port: 4080 },
        ],
      });
      const stored = await registry.register(input, 10_000);
      expect(stored.namespace).toBe(namespace);
      expect(stored.expiresAt).toBeGreaterThan(Date.now());
      const found = await registry.lookup(name, { fresh: true });
      expect(found).toHaveLength(1);
      const [record] = found as [InstanceRecord];
      expect(record.name).toBe(name);
      expect(record.instanceId).toBe(input.instanceId);
      expect(record.endpoints).toEqual(input.endpoints);
      expect(record.methods).toEqual(['greet', 'charge']);
      expect(record.metadata).toEqual(input.metadata);
      expect(record.registeredAt).toBe(input.registeredAt);
    });

    it('keeps many instances of one name and lists names by pattern', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const registry = await open();
      const a = testRecord('worker-1');
      const b = testRecord('worker-1');
      await registry.register(a, 10_000);
      await registry.register(b, 10_000);
      await registry.register(testRecord('worker-2'), 10_000);
      await registry.register(testRecord('worker-10'), 10_000);
      await registry.register(testRecord('billing'), 10_000);
      const ids = (await registry.lookup('worker-1', { fresh: true })).map((r) => r.instanceId).sort();
      expect(ids).toEqual([a.instanceId, b.instanceId].sort());
      const names = async (p: string) => (await registry.list(p)).map((r) => r.name).sort();
      expect(await names('*')).toEqual(['billing', 'worker-1', 'worker-1', 'worker-10', 'worker-2']);
      expect(await names('worker-?')).toEqual(['worker-1', 'worker-1', 'worker-2']);
      expect(await names('worker-*')).toEqual(['worker-1', 'worker-1', 'worker-10', 'worker-2']);
      expect(await names('b*g')).toEqual(['billing']);
      expect(await names('nobody')).toEqual([]);
      expect(await registry.lookup('nobody', { fresh: true })).toEqual([]);
    });

    it('isolates namespaces', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const one = await open();
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const two = await open();
      await one.register(testRecord('shared-name'), 10_000);
      expect(await two.lookup('shared-name', { fresh: true })).toEqual([]);
      expect(await two.list('*')).toEqual([]);
      expect(await one.lookup('shared-name', { fresh: true })).toHaveLength(1);
    });

    it('replaces a record on a second register and deregisters it', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const registry = await open();
      const input = testRecord('billing');
      await registry.register(input, 10_000);
      await registry.register(
        { ...input, methods: ['charge'], endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 5001 }] },
        10_000,
      );
      const [record] = await registry.lookup('billing', { fresh: true });
      expect(record?.methods).toEqual(['charge']);
      expect(record?.endpoints[0]?.port).toBe(5001);
      await registry.deregister(input.instanceId);
      expect(await registry.lookup('billing', { fresh: true })).toEqual([]);
      await registry.deregister(input.instanceId); // a second time is not an error
    });

    it('renews a record, and says when the record to renew is gone', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const registry = await open({ sweepInterval: 50 });
      const input = testRecord('renewed');
      await registry.register(input, 400);
      for (let i = 0; i < 4; i++) {
        await sleep(150);
        await registry.renew(input.instanceId, 400);
      }
      expect(await registry.lookup('renewed', { fresh: true })).toHaveLength(1);
      await expect(registry.renew('no-such-instance', 400)).rejects.toBeInstanceOf(RecordNotFoundError);
    });

    it('expires a record whose TTL runs out', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const registry = await open({ sweepInterval: 50 });
      await registry.register(testRecord('short-lived'), 200);
      expect(await registry.lookup('short-lived', { fresh: true })).toHaveLength(1);
      await eventually(
        async () => expect(await registry.lookup('short-lived', { fresh: true })).toEqual([]),
        3000,
      );
      expect(await registry.list('*')).toEqual([]);
    });

    it('delivers join, update and leave to another watching peer', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const writer = await open();
      const watcher = await open();
      await watcher.watch();
      const seen = recordEvents(watcher);
      const input = testRecord('evented');
      await writer.register(input, 10_000);
      await eventually(() => expect(seen.join).toHaveLength(1), propagation);
      await writer.register({ ...input, methods: ['m'] }, 10_000);
      await eventually(() => expect(seen.update).toHaveLength(1), propagation);
      await writer.deregister(input.instanceId);
      await eventually(() => expect(seen.leave).toHaveLength(1), propagation);
      expect((seen.join[0] as InstanceRecord).instanceId).toBe(input.instanceId);
      expect((seen.update[0] as InstanceRecord).methods).toEqual(['m']);
      expect((seen.leave[0] as InstanceRecord).instanceId).toBe(input.instanceId);
      await sleep(300);
      expect(seen.timeout).toEqual([]);
      expect(seen.join).toHaveLength(1);
      expect(seen.leave).toHaveLength(1);
    });

    it('reports a timeout exactly once at every watcher, however many sweep', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const writer = await open({ sweepInterval: 30 });
      const watchers = await Promise.all([
        open({ sweepInterval: 30 }),
        open({ sweepInterval: 30 }),
        open({ sweepInterval: 30 }),
      ]);
      const seen: Array<ReturnType<typeof recordEvents>> = [];
      for (const w of watchers) {
        await w.watch();
        seen.push(recordEvents(w));
      }
      const doomed = testRecord('doomed');
      const healthy = testRecord('healthy');
      await writer.register(doomed, 300);
      await writer.register(healthy, 60_000);
      await eventually(() => {
        for (const s of seen) expect(s.timeout).toHaveLength(1);
      }, 3000 + propagation);
      await sleep(500);
      for (const s of seen) {
        expect(s.timeout.map((r) => (r as InstanceRecord).instanceId)).toEqual([doomed.instanceId]);
        expect(s.leave).toEqual([]);
      }
      expect(await writer.lookup('healthy', { fresh: true })).toHaveLength(1);
    });

    it('skips a malformed record with a warning and still answers', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const registry = await open();
      const warnings: SidecarError[] = [];
      registry.on('warning', (w) => warnings.push(w));
      const good = testRecord('mixed');
      await registry.register(good, 10_000);
      await harness.injectMalformed(namespace, 'mixed');
      const found = await registry.lookup('mixed', { fresh: true });
      expect(found.map((r) => r.instanceId)).toEqual([good.instanceId]);
      expect((await registry.list('*')).map((r) => r.instanceId)).toEqual([good.instanceId]);
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings[0]?.code).toBe('SIDECAR_ERR_INVALID_RECORD');
      // The namespace keeps working around it: the same name is registrable, renewable and
      // removable, sweeps run, and another peer (a watcher) sees the changes.
      const watcher = await open();
      await watcher.watch();
      const seen = recordEvents(watcher);
      const again = testRecord('mixed');
      await registry.register(again, 10_000);
      await registry.renew(again.instanceId, 10_000);
      const ids = (await registry.lookup('mixed', { fresh: true })).map((r) => r.instanceId).sort();
      expect(ids).toEqual([good.instanceId, again.instanceId].sort());
      await sleep(300); // a few sweeps over the malformed rows
      await registry.deregister(again.instanceId);
      await eventually(
        () => expect(seen.leave.map((r) => (r as InstanceRecord).instanceId)).toEqual([again.instanceId]),
        propagation,
      );
      expect((await watcher.list('*')).map((r) => r.instanceId)).toEqual([good.instanceId]);
    });

    // Only a store with a clock of its own can be tested against a skewed writer: where the store
    // clock is this process's clock (memory, a directory of files) there is nothing to compare.
    if (!harness.storeClockIsProcessClock)
      it("judges liveness by the store's clock: a writer a minute ahead or behind is seen and expires on time", async () => {
        namespace = `ns-${randomBytes(4).toString('hex')}`;
        const skewed = await open();
        const other = await open();
        const realNow = Date.now;
        const ahead = testRecord('clock-ahead');
        const behind = testRecord('clock-behind');
        try {
          Date.now = () => realNow() + 60_000;
          await skewed.register(ahead, 1500);
          Date.now = () => realNow() - 60_000;
          await skewed.register(behind, 1500);
          await skewed.renew(behind.instanceId, 1500);
        } finally {
          Date.now = realNow;
        }
        // Seen at once by a peer with the right time (the one behind was invisible before) ...
        expect((await other.list('*')).map((r) => r.name).sort()).toEqual(['clock-ahead', 'clock-behind']);
        // ... and both gone one TTL later (the one ahead lived a minute longer before).
        await eventually(async () => expect(await other.list('*')).toEqual([]), 1500 + 2000);
      });

    it('rejects invalid names and aborted calls with typed errors', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const registry = await open();
      await expect(registry.lookup('has space')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(registry.lookup('a/b')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(registry.lookup('')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(registry.register(testRecord('x*y'), 1000)).rejects.toMatchObject({
        code: 'SIDECAR_ERR_INVALID_RECORD',
      });
      await expect(registry.list('bad pattern')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(registry.lookup('fine', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
        AbortError,
      );
    });

    it('starts and stops idempotently', async () => {
      namespace = `ns-${randomBytes(4).toString('hex')}`;
      const registry = await open();
      await registry.start();
      await registry.watch();
      await registry.watch();
      await registry.stop();
      await registry.stop();
      await registry.start();
      await registry.register(testRecord('again'), 10_000);
      expect(await registry.lookup('again', { fresh: true })).toHaveLength(1);
    });
  });
}
