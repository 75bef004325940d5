import { EventEmitter } from 'node:events';
import { CONFIG, resolve } from '../container/tokens.js';
import type { RegistryPlugin } from '../contracts/plugin.js';
import { RegistryUnavailableError } from '../errors.js';
import { decodeStored, type InstanceRecord } from '../records.js';
import { BaseRegistry } from './base-registry.js';
import type { RawRegistryChange } from './change-tracker.js';
import type { BaseRegistryOptions } from './registry-options.js';

/** One in-process store: every MemoryRegistry created with the same `store` name shares it. */
class MemoryStore extends EventEmitter<{ change: [change: string] }> {
  /** instanceId -> serialized record (serialized so readers never share objects with writers). */
  readonly rows = new Map<string, string>();

  /** Announces a change; its record may be the stored JSON text (BaseRegistry decodes it). */
  announce(change: RawRegistryChange): void {
    const text = JSON.stringify(change);
    // Deliver asynchronously, as a network registry would.
    queueMicrotask(() => this.emit('change', text));
  }
}

const stores = new Map<string, MemoryStore>();

/** Options of the in-memory registry. */
export interface MemoryRegistryOptions extends BaseRegistryOptions {
  /** Name of the shared in-process store; registries with the same store see each other. @default 'default' */
  store?: string;
}

/**
 * A registry that lives in this process's memory, for apps' own tests: every sidecar in the same
 * process that uses `registry: 'memory'` (same store name) sees the others. Nothing is persisted.
 *
 * @example
 * ```ts
 * const a = createSidecar({ name: 'a', registry: 'memory', transports: ['memory'] });
 * ```
 */
export class MemoryRegistry extends BaseRegistry {
  readonly reach = 'machine' as const;
  readonly #store: MemoryStore;
  #listener: ((text: string) => void) | undefined;
  #offline = false;

  constructor(options: MemoryRegistryOptions = {}) {
    super(options);
    const key = options.store ?? 'default';
    let store = stores.get(key);
    if (!store) {
      store = new MemoryStore();
      store.setMaxListeners(0);
      stores.set(key, store);
    }
    this.#store = store;
  }

  /**
   * Simulates a registry outage for this peer: while offline, every call fails with
   * RegistryUnavailableError (cached lookups keep serving). Lets an app's tests check how it
   * behaves when the registry goes away.
   */
  setOffline(offline: boolean): void {
    this.#offline = offline;
  }

  /** Simulates a registry that restarted empty: every record of the shared store is gone, silently. */
  wipe(): void {
    this.#store.rows.clear();
  }

  /** Writes a raw value as if it were a stored record (for tests of malformed records). */
  injectRaw(key: string, value: unknown): void {
    this.#store.rows.set(key, JSON.stringify(value));
  }

  protected async connect(): Promise<void> {}
  protected async disconnect(): Promise<void> {}

  protected async put(input: InstanceRecord, ttlMs: number): Promise<number> {
    this.#reachable();
    // The store's clock is this process's clock: it is the one every user of the store shares.
    const record = { ...input, expiresAt: Date.now() + ttlMs };
    const existed = this.#store.rows.has(record.instanceId);
    this.#store.rows.set(record.instanceId, JSON.stringify(record));
    this.#store.announce({ type: existed ? 'update' : 'join', record });
    return record.expiresAt;
  }

  protected async touch(instanceId: string, ttlMs: number): Promise<boolean> {
    this.#reachable();
    const record = decodeStored(this.#store.rows.get(instanceId));
    if (typeof record !== 'object' || record === null) return false;
    this.#store.rows.set(instanceId, JSON.stringify({ ...record, expiresAt: Date.now() + ttlMs }));
    return true;
  }

  protected async remove(instanceId: string): Promise<void> {
    this.#reachable();
    const text = this.#store.rows.get(instanceId);
    if (text === undefined) return;
    this.#store.rows.delete(instanceId);
    this.#store.announce({ type: 'leave', record: text });
  }

  protected async fetchByName(name: string): Promise<unknown[]> {
    this.#reachable();
    return this.#values().filter((v) => (v as { name?: unknown } | null)?.name === name);
  }

  protected async fetchAll(_pattern: string): Promise<unknown[]> {
    this.#reachable();
    return this.#values();
  }

  protected async sweep(): Promise<void> {
    this.#reachable();
    const now = Date.now();
    for (const [key, text] of this.#store.rows) {
      if (expired(decodeStored(text), now)) {
        this.#store.rows.delete(key);
        this.#store.announce({ type: 'timeout', record: text });
      }
    }
  }

  protected async subscribe(deliver: (change: unknown) => void): Promise<void> {
    this.#listener = deliver; // JSON text: BaseRegistry decodes it
    this.#store.on('change', this.#listener);
  }

  protected async unsubscribe(): Promise<void> {
    if (this.#listener) this.#store.off('change', this.#listener);
    this.#listener = undefined;
  }

  #reachable(): void {
    if (this.#offline)
      throw new RegistryUnavailableError('the memory registry is offline (setOffline(true))');
  }

  /** Stored values, decoded, without those expired (by the store's clock). */
  #values(): unknown[] {
    const now = Date.now();
    return [...this.#store.rows.values()].map(decodeStored).filter((value) => !expired(value, now));
  }
}

/** True for a decoded value whose `expiresAt` is a time at or before `now`. */
function expired(value: unknown, now: number): boolean {
  const expiresAt = (value as { expiresAt?: unknown } | null)?.expiresAt;
  return typeof expiresAt === 'number' && expiresAt <= now;
}

/**
 * The in-memory registry plugin (`registry: 'memory'` or `'memory:STORE'`).
 *
 * @example
 * ```ts
 * createSidecar({ name: 'test-app', registry: memoryRegistry({ store: 'suite-1' }) });
 * ```
 */
export function memoryRegistry(options: MemoryRegistryOptions = {}): RegistryPlugin {
  return {
    kind: 'registry',
    name: 'memory',
    create: (container) =>
      new MemoryRegistry({ namespace: resolve(container, CONFIG).namespace, ...options }),
  };
}
