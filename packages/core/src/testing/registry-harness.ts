import { randomBytes } from 'node:crypto';
import type { RecordInput, Registry, RegistryEvents } from '../contracts/registry.js';
import type { InstanceRecord } from '../records.js';

/** What the registry compliance suite needs from an adapter under test. */
export interface RegistryHarness {
  /**
   * Makes a new, unstarted registry on the store under test. Registries made with the same
   * namespace must see each other (they stand for separate peers sharing one registry).
   */
  create(options: {
    namespace: string;
    sweepInterval: number;
    cacheTtl: number;
  }): Registry | Promise<Registry>;
  /** Writes a malformed value for `name` straight into the store, bypassing validation. */
  injectMalformed(namespace: string, name: string): Promise<void>;
  /** How long one change takes to reach another watcher, at most, in ms. @default 2000 */
  propagationMs?: number;
  /**
   * True when the store's clock IS this process's clock (an in-process store): the test of
   * liveness by the store's clock then does not apply. @default false
   */
  storeClockIsProcessClock?: boolean;
}

/** Makes a record input for the tests. */
export function testRecord(name: string, overrides: Partial<RecordInput> = {}): RecordInput {
  return {
    name,
    instanceId: randomBytes(9).toString('base64url'),
    namespace: 'ignored',
    endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 4000 + Math.floor(Math.random() * 1000) }],
    methods: [],
    metadata: {},
    registeredAt: Date.now(),
    ...overrides,
  };
}

/** Collects a registry's events for assertions. */
export function recordEvents(registry: Registry): Record<keyof RegistryEvents, unknown[]> {
  const seen: Record<keyof RegistryEvents, unknown[]> = {
    join: [],
    update: [],
    leave: [],
    timeout: [],
    warning: [],
  };
  for (const type of Object.keys(seen) as Array<keyof RegistryEvents>) {
    registry.on(type as 'join', (value: InstanceRecord) => seen[type].push(value));
  }
  return seen;
}
