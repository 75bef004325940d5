import type { LookupOptions, RecordInput, Registry, RegistryCallOptions } from '../contracts/registry.js';
import {
  isSidecarError,
  RecordNotFoundError,
  RegistryUnavailableError,
  type SidecarError,
} from '../errors.js';
import { matchName, validateName, validatePattern } from '../names.js';
import { type InstanceRecord, parseRecord } from '../records.js';
import { abortErrorOf, throwIfAborted } from '../util/abort.js';
import { ConnectionHealth } from './connection-health.js';
import { GuardedCalls } from './guarded-call.js';
import { LookupCache } from './lookup-cache.js';
import { OwnRecords } from './own-records.js';
import { liveRecords } from './record-reader.js';
import { type BaseRegistryOptions, resolveRegistryOptions } from './registry-options.js';
import { RegistryWatch } from './registry-watch.js';
import { StorageHooks } from './storage-hooks.js';
import { Sweeper } from './sweeper.js';

/**
 * The shared half of every registry: argument checks, record decoding and validation (malformed
 * records are skipped with a `warning`), a lookup cache that keeps serving while the registry is
 * down, concurrent lookups of one name merged into one query, a sweep timer, and event delivery
 * that emits `join` once per live instance and `leave`/`timeout` once per departure. An adapter
 * implements the storage hooks of StorageHooks (which this class extends).
 *
 * @example
 * ```ts
 * class FileRegistry extends BaseRegistry {
 *   readonly reach = 'machine';
 *   protected async connect(signal?: AbortSignal) { ... }
 *   // ... the other hooks
 * }
 * ```
 */
export abstract class BaseRegistry extends StorageHooks implements Registry {
  readonly namespace: string;
  protected readonly cacheTtl: number;
  protected readonly watchedCacheTtl: number;
  protected readonly sweepInterval: number;
  /** Most distinct names kept in the lookup cache. */
  readonly maxCachedNames: number;
  readonly #restoreOnReconnect: boolean;

  #started: Promise<void> | undefined;
  readonly #sweeper: Sweeper;
  readonly #cache: LookupCache;
  readonly #inflight = new Map<string, Promise<InstanceRecord[]>>();
  readonly #watch: RegistryWatch;
  readonly #own = new OwnRecords();
  readonly #health: ConnectionHealth;
  readonly #warn = (error: SidecarError): void => this.warn(error);
  readonly #calls: GuardedCalls;

  constructor(options: BaseRegistryOptions = {}) {
    super();
    const o = resolveRegistryOptions(options);
    ({ namespace: this.namespace, cacheTtl: this.cacheTtl, watchedCacheTtl: this.watchedCacheTtl } = o);
    ({ sweepInterval: this.sweepInterval, maxCachedNames: this.maxCachedNames } = o);
    this.#restoreOnReconnect = o.restoreOnReconnect;
    this.#cache = new LookupCache(this.maxCachedNames);
    this.#sweeper = new Sweeper(
      this.sweepInterval,
      (signal) => this.sweep(signal),
      (err) => {
        this.#health.failed(err);
        this.warn(this.unavailable('sweeping expired records failed', err));
      },
      () => this.feedKey() && `${this.feedKey()}\u0000${this.namespace}`,
    );
    this.#health = new ConnectionHealth(
      {
        isTimeout: (err) => this.isTimeout(err),
        localAddresses: () => this.localAddresses(),
        reconnect: (reason) => this.reconnectBecause(reason),
        restored: () => this.connectionRestored(),
      },
      o.reconnectAfterTimeouts,
      o.addressCheckInterval,
    );
    this.#watch = new RegistryWatch({
      namespace: this.namespace,
      feedKey: () => this.feedKey(),
      openFeed: (sink, signal) => this.openFeed(sink, signal),
      subscribe: (deliver, signal) => this.subscribe(deliver, signal),
      unsubscribe: () => this.unsubscribe(),
      present: (signal) => this.list('*', signal ? { signal } : {}),
      seen: (event, record) => {
        this.#cache.delete(record.name);
        if (event) this.emit(event, record);
      },
      warn: this.#warn,
      reset: () => this.invalidateCache(),
    });
    this.#calls = new GuardedCalls({
      owner: this,
      started: () => this.#started !== undefined,
      health: this.#health,
      unavailable: (what, err) => this.unavailable(what, err),
    });
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(options: RegistryCallOptions = {}): Promise<void> {
    if (!this.#started) {
      this.#started = this.connect(options.signal).then(
        () => {
          this.#sweeper.start();
          if (this.reach === 'network') this.#health.followHostAddresses();
        },
        (err: unknown) => {
          this.#started = undefined;
          throw this.unavailable('could not connect to the registry', err);
        },
      );
    }
    return this.#started;
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    const started = this.#started;
    this.#started = undefined;
    await started.catch(() => {});
    this.#sweeper.stop();
    this.#health.stop();
    this.#own.clear();
    await this.#watch.stop();
    await this.disconnect().catch(() => {});
    this.#cache.clear();
  }

  /** True between a successful `start()` and `stop()`. */
  get started(): boolean {
    return this.#started !== undefined;
  }

  // register, renew and lookup are not `async`: they return the store's promise chained once,
  // without the extra promise and ticks of an async function (measured on the hot paths).

  register(input: RecordInput, ttlMs: number, options: RegistryCallOptions = {}): Promise<InstanceRecord> {
    let record: InstanceRecord;
    let written: () => void;
    try {
      throwIfAborted(options.signal);
      record = this.#recordOf(input, ttlMs);
      // Remembered before the write: if it fails (an outage), the reconnect writes this content.
      written = this.#own.willWrite(input, ttlMs);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#guard('register', () => this.put(record, ttlMs, options.signal)).then((stored) => {
      written();
      this.#cache.delete(record.name);
      // A fresh object (recordOf), not yet handed to anyone: completed in place, not copied.
      if (stored !== undefined) record.expiresAt = stored;
      return record;
    });
  }

  renew(instanceId: string, ttlMs: number, options: RegistryCallOptions = {}): Promise<void> {
    if (options.signal?.aborted) return Promise.reject(abortErrorOf(options.signal));
    return this.#guard('renew', () => this.touch(instanceId, ttlMs, options.signal)).then((found) => {
      this.#own.renewed(instanceId, ttlMs);
      if (!found) throw new RecordNotFoundError(`instance ${instanceId} is no longer in the registry`);
    });
  }

  async deregister(instanceId: string, options: RegistryCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    this.#own.forget(instanceId);
    await this.#guard('deregister', () => this.remove(instanceId, options.signal));
  }

  lookup(name: string, options: LookupOptions = {}): Promise<InstanceRecord[]> {
    const cached = this.#cache.get(name);
    try {
      if (cached === undefined) validateName(name); // a cached name was checked when it was cached
      throwIfAborted(options.signal);
    } catch (err) {
      return Promise.reject(err);
    }
    const maxAge = this.#watch.watching ? this.watchedCacheTtl : this.cacheTtl;
    if (!options.fresh && cached && Date.now() - cached.fetchedAt < maxAge) {
      return Promise.resolve(cached.records);
    }
    let pending = this.#inflight.get(name);
    pending ??= this.#lookupNow(name, options.signal);
    if (!cached) return pending;
    return pending.catch((err: unknown) => this.#stale(err, cached.records));
  }

  /** While the registry is away, the last records seen keep serving. */
  #stale(err: unknown, records: InstanceRecord[]): InstanceRecord[] {
    if (!isSidecarError(err) || !err.retryable) throw err;
    this.warn(err);
    return records;
  }

  /** One registry read for `name`, shared by concurrent lookups; fills the cache. */
  #lookupNow(name: string, signal: AbortSignal | undefined): Promise<InstanceRecord[]> {
    let rows: unknown[] | Promise<unknown[]>;
    try {
      rows = this.#calls.run('lookup', () => this.fetchByName(name, signal));
    } catch (err) {
      return Promise.reject(err);
    }
    // An embedded store answered at once: no other lookup can be in flight meanwhile.
    if (Array.isArray(rows)) return Promise.resolve(this.#fill(name, rows));
    const pending = rows.then((r) => this.#fill(name, r));
    this.#inflight.set(name, pending);
    const done = () => void this.#inflight.delete(name);
    pending.then(done, done);
    return pending;
  }

  /** The live records of `name` among raw rows, cached. */
  #fill(name: string, rows: unknown[]): InstanceRecord[] {
    const records = liveRecords(rows, this.namespace, (r) => r.name === name, this.#warn);
    this.#cache.set(name, { records, fetchedAt: Date.now() });
    return records;
  }

  async list(pattern = '*', options: RegistryCallOptions = {}): Promise<InstanceRecord[]> {
    validatePattern(pattern);
    throwIfAborted(options.signal);
    const rows = await this.#guard('lookup', () => this.fetchAll(pattern, options.signal));
    return liveRecords(rows, this.namespace, (r) => matchName(pattern, r.name), this.#warn);
  }

  async watch(options: RegistryCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    try {
      await this.#watch.start(options.signal);
    } catch (err) {
      throw this.unavailable('could not watch the registry', err);
    }
  }

  async unwatch(): Promise<void> {
    await this.#watch.stop();
  }

  /** True while `watch()` is in effect. */
  get watching(): boolean {
    return this.#watch.watching;
  }

  /** Drops every cached lookup (e.g. after a reconnect that may have missed changes). */
  protected invalidateCache(): void {
    this.#cache.clear();
  }

  /** Number of names in the lookup cache (bounded by `maxCachedNames`). */
  get cachedNames(): number {
    return this.#cache.size;
  }

  /**
   * Adapters call this when a connection to the store is (re)established after a loss: cached
   * lookups are dropped and this registry's own records are renewed with a full lifetime (and
   * written back if the store lost them), so a failover never lets a live record expire.
   */
  protected connectionRestored(): void {
    this.#health.back();
    this.invalidateCache();
    void this.#restoreOwn();
  }

  /** Drops the store connections and makes new ones, saying why in a warning. */
  protected reconnectBecause(reason: string): void {
    if (!this.#started) return;
    this.#health.reconnecting();
    this.warn(new RegistryUnavailableError(`reconnecting to the registry: ${reason}`));
    this.invalidateCache();
    try {
      this.reconnect();
    } catch (err) {
      this.warn(this.unavailable('reconnecting to the registry failed', err));
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  /** A storage hook run by GuardedCalls, as a promise. */
  #guard<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    try {
      return Promise.resolve(this.#calls.run(what, fn));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Renews every own record with a full lifetime; re-registers those the store lost. */
  async #restoreOwn(): Promise<void> {
    if (!this.#restoreOnReconnect) return;
    try {
      await this.#own.restore({
        touch: async (instanceId, ttl) => this.touch(instanceId, ttl),
        put: async (input, ttl) => void (await this.put(this.#recordOf(input, ttl), ttl)),
      });
    } catch (err) {
      this.#health.reconnecting(); // still out: the next call that works tries again
      this.warn(this.unavailable('renewing own records after a reconnect failed', err));
    }
  }

  /** A checked record of this namespace for `input`, expiring `ttlMs` from now (local estimate). */
  #recordOf(input: RecordInput, ttlMs: number): InstanceRecord {
    // Not an object (an untyped caller): the same InvalidRecordError as any bad record.
    if (typeof input !== 'object' || input === null) return parseRecord(input);
    // The fields parseRecord reads, named (a spread of the input costs 2 us more per register).
    return parseRecord({
      name: input.name,
      instanceId: input.instanceId,
      namespace: this.namespace,
      endpoints: input.endpoints,
      methods: input.methods,
      metadata: input.metadata,
      registeredAt: input.registeredAt,
      expiresAt: Date.now() + ttlMs,
    });
  }
}
