import { EventEmitter } from 'node:events';
import type {
  LookupOptions,
  RecordInput,
  Registry,
  RegistryCallOptions,
  RegistryEvents,
  RegistryReach,
} from '../contracts/registry.js';
import {
  InvalidRecordError,
  isSidecarError,
  RecordNotFoundError,
  RegistryUnavailableError,
  type SidecarError,
} from '../errors.js';
import { matchName, validateName, validatePattern } from '../names.js';
import { type InstanceRecord, parseRecord } from '../records.js';
import { throwIfAborted } from '../util/abort.js';
import { ConnectionHealth } from './connection-health.js';
import { DEFAULT_HOST_ADDRESS_CHECK_INTERVAL } from './host-addresses.js';
import { LookupCache } from './lookup-cache.js';
import { OwnRecords } from './own-records.js';

/** Default namespace of every registry. */
export const DEFAULT_NAMESPACE = 'default';
/** Default lifetime of a cached lookup when no watch keeps it fresh, in ms. */
export const DEFAULT_CACHE_TTL = 1000;
/** Default lifetime of a cached lookup while a watch invalidates it on changes, in ms. */
export const DEFAULT_WATCHED_CACHE_TTL = 10_000;
/** Default interval between sweeps for expired records, in ms. */
export const DEFAULT_SWEEP_INTERVAL = 1000;
/** Default number of distinct names whose lookups are cached (least recently used ones are dropped). */
export const DEFAULT_MAX_CACHED_NAMES = 10_000;
/** Default number of registry calls in a row that time out before the connection is dropped and made again. */
export const DEFAULT_RECONNECT_AFTER_TIMEOUTS = 2;

/** Options every registry built on BaseRegistry accepts. */
export interface BaseRegistryOptions {
  /** Namespace: peers only see peers of the same namespace. @default 'default' */
  namespace?: string;
  /** How long a lookup result is reused without a watch, in ms. @default 1000 */
  cacheTtl?: number;
  /** How long a lookup result is reused while watching (changes invalidate it), in ms. @default 10000 */
  watchedCacheTtl?: number;
  /** How often this peer sweeps expired records (and announces their timeout), in ms. @default 1000 */
  sweepInterval?: number;
  /** Most distinct names kept in the lookup cache; the least recently used are dropped. @default 10000 */
  maxCachedNames?: number;
  /**
   * Registry calls in a row that time out before the registry drops its connections and makes
   * new ones (a path that went dead: a vanished source address, a frozen server). @default 2
   */
  reconnectAfterTimeouts?: number;
  /**
   * How often a network registry checks this host's addresses, in ms: when the address a
   * registry connection uses disappears (DHCP), the connection is made again at once. @default 1000
   */
  addressCheckInterval?: number;
  /**
   * When the registry answers again after an outage (or a reconnect), renew this registry's own
   * records with a full lifetime, and write back those the store lost. @default true
   */
  restoreOnReconnect?: boolean;
}

/** A change as delivered by a driver's subscription: validated by BaseRegistry before use. */
export interface RegistryChange {
  type: 'join' | 'update' | 'leave' | 'timeout';
  record: InstanceRecord;
}

const CHANGE_TYPES = new Set(['join', 'update', 'leave', 'timeout']);
const MAX_TRACKED_INSTANCES = 10_000;

/**
 * The shared half of every registry: argument checks, record validation (malformed records are
 * skipped with a `warning`), a lookup cache that keeps serving while the registry is down,
 * concurrent lookups of one name merged into one query, a sweep timer, and event delivery that
 * emits `join` once per live instance and `leave`/`timeout` once per departure.
 *
 * An adapter implements the storage hooks below. Its mutations announce their own changes (in the
 * same transaction or script where the store allows it), so that of many sweepers exactly one
 * wins each expired record and announces its `timeout`.
 *
 * @example
 * ```ts
 * class FileRegistry extends BaseRegistry {
 *   readonly reach = 'machine';
 *   protected async connect() { ... }
 *   // ... the other hooks
 * }
 * ```
 */
export abstract class BaseRegistry extends EventEmitter<RegistryEvents> implements Registry {
  abstract readonly reach: RegistryReach;
  readonly namespace: string;
  protected readonly cacheTtl: number;
  protected readonly watchedCacheTtl: number;
  protected readonly sweepInterval: number;
  /** Most distinct names kept in the lookup cache. */
  readonly maxCachedNames: number;
  readonly #restoreOnReconnect: boolean;

  #started: Promise<void> | undefined;
  #watching = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping = false;
  readonly #cache: LookupCache;
  readonly #inflight = new Map<string, Promise<InstanceRecord[]>>();
  readonly #state = new Map<string, 'joined' | 'gone'>();
  readonly #own = new OwnRecords();
  readonly #health: ConnectionHealth;

  constructor(options: BaseRegistryOptions = {}) {
    super();
    this.namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.cacheTtl = options.cacheTtl ?? DEFAULT_CACHE_TTL;
    this.watchedCacheTtl = options.watchedCacheTtl ?? DEFAULT_WATCHED_CACHE_TTL;
    this.sweepInterval = options.sweepInterval ?? DEFAULT_SWEEP_INTERVAL;
    this.maxCachedNames = Math.max(1, options.maxCachedNames ?? DEFAULT_MAX_CACHED_NAMES);
    this.#cache = new LookupCache(this.maxCachedNames);
    this.#health = new ConnectionHealth(
      {
        isTimeout: (err) => this.isTimeout(err),
        localAddresses: () => this.localAddresses(),
        reconnect: (reason) => this.reconnectBecause(reason),
        restored: () => this.connectionRestored(),
      },
      options.reconnectAfterTimeouts ?? DEFAULT_RECONNECT_AFTER_TIMEOUTS,
      options.addressCheckInterval ?? DEFAULT_HOST_ADDRESS_CHECK_INTERVAL,
    );
    this.#restoreOnReconnect = options.restoreOnReconnect ?? true;
  }

  // ---- storage hooks implemented by adapters ---------------------------------------------
  //
  // Liveness is judged by the STORE's clock, never this process's: `put` and `touch` get a
  // relative lifetime that the store adds to its own time, fetches return only the records
  // live by that clock, and `sweep` removes those expired by it. A peer whose clock is off is
  // then seen, and times out, like every other.

  /** Opens connections and prepares the store (schema, scripts). */
  protected abstract connect(signal?: AbortSignal): Promise<void>;
  /** Closes every connection; must not throw. */
  protected abstract disconnect(): Promise<void>;
  /**
   * Upserts a full record living `ttlMs` from now by the store's clock; announces `join` (new)
   * or `update` (existing). Returns the stored `expiresAt` (store's clock), if known.
   */
  protected abstract put(
    record: InstanceRecord,
    ttlMs: number,
    signal?: AbortSignal,
  ): Promise<number | undefined>;
  /** Extends a record's life to `ttlMs` from now (store's clock); false if it does not exist. */
  protected abstract touch(instanceId: string, ttlMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Deletes a record; announces `leave` if it existed. */
  protected abstract remove(instanceId: string, signal?: AbortSignal): Promise<void>;
  /** Raw stored values of the records of one name that are live by the store's clock (validated here). */
  protected abstract fetchByName(name: string, signal?: AbortSignal): Promise<unknown[]>;
  /** Raw stored values of every live instance (or a superset of those matching `pattern`). */
  protected abstract fetchAll(pattern: string, signal?: AbortSignal): Promise<unknown[]>;
  /** Atomically deletes records expired by the store's clock; announces `timeout` for each one this call deleted. */
  protected abstract sweep(): Promise<void>;
  /** Starts passing every announced change (raw) to `deliver`. */
  protected abstract subscribe(deliver: (change: unknown) => void): Promise<void>;
  /** Stops the subscription; must not throw. */
  protected abstract unsubscribe(): Promise<void>;
  /** Local addresses of the open connections to the store (network registries), to notice a vanished one. */
  protected localAddresses(): string[] {
    return [];
  }
  /** Drops every connection to the store and makes new ones (the path went dead); must not throw. */
  protected reconnect(): void {}
  /** True if a driver failure is a call that timed out (counted towards `reconnectAfterTimeouts`). */
  protected isTimeout(_err: unknown): boolean {
    return false;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(options: RegistryCallOptions = {}): Promise<void> {
    if (!this.#started) {
      this.#started = this.connect(options.signal).then(
        () => {
          this.#startSweeping();
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
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#health.stop();
    this.#own.clear();
    if (this.#watching) {
      this.#watching = false;
      await this.unsubscribe().catch(() => {});
    }
    await this.disconnect().catch(() => {});
    this.#cache.clear();
  }

  /** True between a successful `start()` and `stop()`. */
  get started(): boolean {
    return this.#started !== undefined;
  }

  // ---- the Registry contract ---------------------------------------------------------------

  async register(
    input: RecordInput,
    ttlMs: number,
    options: RegistryCallOptions = {},
  ): Promise<InstanceRecord> {
    throwIfAborted(options.signal);
    const record = parseRecord({ ...input, namespace: this.namespace, expiresAt: Date.now() + ttlMs });
    // Remembered before the write: if it fails (an outage), the reconnect writes this content.
    const written = this.#own.willWrite(input, ttlMs);
    const stored = await this.#guard('register', () => this.put(record, ttlMs, options.signal));
    written();
    this.#cache.delete(record.name);
    return stored === undefined ? record : { ...record, expiresAt: stored };
  }

  async renew(instanceId: string, ttlMs: number, options: RegistryCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    const found = await this.#guard('renew', () => this.touch(instanceId, ttlMs, options.signal));
    this.#own.renewed(instanceId, ttlMs);
    if (!found) throw new RecordNotFoundError(`instance ${instanceId} is no longer in the registry`);
  }

  async deregister(instanceId: string, options: RegistryCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    this.#own.forget(instanceId);
    await this.#guard('deregister', () => this.remove(instanceId, options.signal));
  }

  async lookup(name: string, options: LookupOptions = {}): Promise<InstanceRecord[]> {
    validateName(name);
    throwIfAborted(options.signal);
    const cached = this.#cache.get(name);
    const maxAge = this.#watching ? this.watchedCacheTtl : this.cacheTtl;
    if (!options.fresh && cached && Date.now() - cached.fetchedAt < maxAge) return cached.records;
    let pending = this.#inflight.get(name);
    if (!pending) {
      pending = this.#lookupNow(name, options.signal);
      this.#inflight.set(name, pending);
    }
    try {
      return await pending;
    } catch (err) {
      if (cached && isSidecarError(err) && err.retryable) {
        this.warn(err);
        return cached.records;
      }
      throw err;
    }
  }

  /** One registry read for `name`, shared by concurrent lookups; fills the cache. */
  async #lookupNow(name: string, signal: AbortSignal | undefined): Promise<InstanceRecord[]> {
    try {
      if (!this.#started) throw this.unavailable('cannot look up', new Error('the registry is not started'));
      let rows: unknown[];
      try {
        rows = await this.fetchByName(name, signal);
        this.#health.succeeded();
      } catch (err) {
        this.#health.failed(err);
        throw this.unavailable('registry lookup failed', err);
      }
      const records = this.#live(rows, (r) => r.name === name);
      this.#cache.set(name, { records, fetchedAt: Date.now() });
      return records;
    } finally {
      this.#inflight.delete(name);
    }
  }

  async list(pattern = '*', options: RegistryCallOptions = {}): Promise<InstanceRecord[]> {
    validatePattern(pattern);
    throwIfAborted(options.signal);
    return this.#fetchLive(
      () => this.fetchAll(pattern, options.signal),
      (r) => matchName(pattern, r.name),
    );
  }

  async watch(options: RegistryCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    if (this.#watching) return;
    this.#watching = true;
    try {
      await this.subscribe((raw) => this.#deliver(raw));
    } catch (err) {
      this.#watching = false;
      throw this.unavailable('could not watch the registry', err);
    }
    // Instances already present are known, so their next update is not mistaken for a join.
    const present = await this.list('*', options).catch(() => []);
    for (const record of present)
      if (!this.#state.has(record.instanceId)) this.#track(record.instanceId, 'joined');
  }

  async unwatch(): Promise<void> {
    if (!this.#watching) return;
    this.#watching = false;
    await this.unsubscribe().catch(() => {});
  }

  /** True while `watch()` is in effect. */
  get watching(): boolean {
    return this.#watching;
  }

  // ---- helpers for adapters ----------------------------------------------------------------

  /** Reports a non-fatal problem as a `warning` event. */
  protected warn(error: SidecarError): void {
    this.emit('warning', error);
  }

  /** Wraps a driver failure in RegistryUnavailableError (other SidecarErrors pass through). */
  protected unavailable(what: string, err: unknown): SidecarError {
    if (isSidecarError(err)) return err;
    const detail = err instanceof Error ? err.message : String(err);
    return new RegistryUnavailableError(`${what}: ${detail}`, { cause: err });
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

  async #guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (!this.#started) throw this.unavailable(`cannot ${what}`, new Error('the registry is not started'));
    try {
      const result = await fn();
      this.#health.succeeded();
      return result;
    } catch (err) {
      this.#health.failed(err);
      throw this.unavailable(`registry ${what} failed`, err);
    }
  }

  /** Renews every own record with a full lifetime; re-registers those the store lost. */
  async #restoreOwn(): Promise<void> {
    if (!this.#restoreOnReconnect) return;
    try {
      await this.#own.restore({
        touch: (instanceId, ttl) => this.touch(instanceId, ttl),
        put: async (input, ttl) => {
          const record = parseRecord({ ...input, namespace: this.namespace, expiresAt: Date.now() + ttl });
          await this.put(record, ttl);
        },
      });
    } catch (err) {
      this.#health.reconnecting(); // still out: the next call that works tries again
      this.warn(this.unavailable('renewing own records after a reconnect failed', err));
    }
  }

  async #fetchLive(
    fetch: () => Promise<unknown[]>,
    keep: (record: InstanceRecord) => boolean,
  ): Promise<InstanceRecord[]> {
    return this.#live(await this.#guard('lookup', fetch), keep);
  }

  /**
   * The valid records of this namespace among raw rows (malformed ones are warned about). Rows
   * come from the store already filtered by ITS clock: no local-clock expiry check here.
   */
  #live(rows: unknown[], keep: (record: InstanceRecord) => boolean): InstanceRecord[] {
    const live: InstanceRecord[] = [];
    for (const row of rows) {
      const record = this.#parse(row);
      if (record && record.namespace === this.namespace && keep(record)) live.push(record);
    }
    return live;
  }

  #parse(row: unknown): InstanceRecord | undefined {
    try {
      return parseRecord(row);
    } catch (err) {
      this.warn(err instanceof InvalidRecordError ? err : new InvalidRecordError(String(err)));
      return undefined;
    }
  }

  #deliver(raw: unknown): void {
    if (!this.#watching) return;
    const change = raw as Partial<RegistryChange> | null;
    if (!change || typeof change !== 'object' || !CHANGE_TYPES.has(change.type as string)) {
      this.warn(new InvalidRecordError(`ignored a registry change of unknown shape: ${JSON.stringify(raw)}`));
      return;
    }
    const record = this.#parse(change.record);
    if (!record || record.namespace !== this.namespace) return;
    this.#cache.delete(record.name);
    const type = change.type as RegistryChange['type'];
    const state = this.#state.get(record.instanceId);
    if (type === 'join' || type === 'update') {
      this.#track(record.instanceId, 'joined');
      if (state !== 'joined') this.emit('join', record);
      else if (type === 'update') this.emit('update', record);
      return;
    }
    if (state === 'gone') return;
    this.#track(record.instanceId, 'gone');
    this.emit(type, record);
  }

  #track(instanceId: string, state: 'joined' | 'gone'): void {
    this.#state.delete(instanceId);
    this.#state.set(instanceId, state);
    if (this.#state.size > MAX_TRACKED_INSTANCES) {
      const oldest = this.#state.keys().next().value;
      if (oldest !== undefined) this.#state.delete(oldest);
    }
  }

  #startSweeping(): void {
    if (this.#sweepTimer) return;
    this.#sweepTimer = setInterval(() => void this.#sweepOnce(), this.sweepInterval);
    this.#sweepTimer.unref();
  }

  async #sweepOnce(): Promise<void> {
    if (this.#sweeping || !this.#started) return;
    this.#sweeping = true;
    try {
      await this.sweep();
    } catch (err) {
      this.#health.failed(err);
      this.warn(this.unavailable('sweeping expired records failed', err));
    } finally {
      this.#sweeping = false;
    }
  }
}
