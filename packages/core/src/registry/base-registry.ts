import { EventEmitter } from 'node:events';
import type {
  LookupOptions,
  RecordInput,
  Registry,
  RegistryCallOptions,
  RegistryEvents,
  RegistryReach,
} from '../contracts/registry.js';
import { timeRegistryOperation } from '../diagnostics.js';
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

/** Default namespace of every registry. */
export const DEFAULT_NAMESPACE = 'default';
/** Default lifetime of a cached lookup when no watch keeps it fresh, in ms. */
export const DEFAULT_CACHE_TTL = 1000;
/** Default lifetime of a cached lookup while a watch invalidates it on changes, in ms. */
export const DEFAULT_WATCHED_CACHE_TTL = 10_000;
/** Default interval between sweeps for expired records, in ms. */
export const DEFAULT_SWEEP_INTERVAL = 1000;

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
}

/** A change as delivered by a driver's subscription: validated by BaseRegistry before use. */
export interface RegistryChange {
  type: 'join' | 'update' | 'leave' | 'timeout';
  record: InstanceRecord;
}

const CHANGE_TYPES = new Set(['join', 'update', 'leave', 'timeout']);
const MAX_TRACKED_INSTANCES = 10_000;

interface CacheEntry {
  records: InstanceRecord[];
  fetchedAt: number;
}

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

  #started: Promise<void> | undefined;
  #watching = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping = false;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<InstanceRecord[]>>();
  readonly #state = new Map<string, 'joined' | 'gone'>();

  constructor(options: BaseRegistryOptions = {}) {
    super();
    this.namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.cacheTtl = options.cacheTtl ?? DEFAULT_CACHE_TTL;
    this.watchedCacheTtl = options.watchedCacheTtl ?? DEFAULT_WATCHED_CACHE_TTL;
    this.sweepInterval = options.sweepInterval ?? DEFAULT_SWEEP_INTERVAL;
  }

  // ---- storage hooks implemented by adapters ---------------------------------------------

  /** Opens connections and prepares the store (schema, scripts). */
  protected abstract connect(signal?: AbortSignal): Promise<void>;
  /** Closes every connection; must not throw. */
  protected abstract disconnect(): Promise<void>;
  /** Upserts a full record; announces `join` (new) or `update` (existing). */
  protected abstract put(record: InstanceRecord, signal?: AbortSignal): Promise<void>;
  /** Sets a record's `expiresAt`; false if the record does not exist. */
  protected abstract touch(instanceId: string, expiresAt: number, signal?: AbortSignal): Promise<boolean>;
  /** Deletes a record; announces `leave` if it existed. */
  protected abstract remove(instanceId: string, signal?: AbortSignal): Promise<void>;
  /** Raw stored values of one name (validated here; expired ones are filtered here). */
  protected abstract fetchByName(name: string, signal?: AbortSignal): Promise<unknown[]>;
  /** Raw stored values of every instance (or a superset of those matching `pattern`). */
  protected abstract fetchAll(pattern: string, signal?: AbortSignal): Promise<unknown[]>;
  /** Atomically deletes records expired at `now`; announces `timeout` for each one this call deleted. */
  protected abstract sweep(now: number): Promise<void>;
  /** Starts passing every announced change (raw) to `deliver`. */
  protected abstract subscribe(deliver: (change: unknown) => void): Promise<void>;
  /** Stops the subscription; must not throw. */
  protected abstract unsubscribe(): Promise<void>;

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(options: RegistryCallOptions = {}): Promise<void> {
    if (!this.#started) {
      this.#started = this.connect(options.signal).then(
        () => this.#startSweeping(),
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
    await this.#guard('register', () => this.put(record, options.signal));
    this.#cache.delete(record.name);
    return record;
  }

  async renew(instanceId: string, ttlMs: number, options: RegistryCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    const found = await this.#guard('renew', () =>
      this.touch(instanceId, Date.now() + ttlMs, options.signal),
    );
    if (!found) throw new RecordNotFoundError(`instance ${instanceId} is no longer in the registry`);
  }

  async deregister(instanceId: string, options: RegistryCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
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
        rows = await timeRegistryOperation(this, 'lookup', () => this.fetchByName(name, signal));
      } catch (err) {
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

  // ---- internals ---------------------------------------------------------------------------

  async #guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (!this.#started) throw this.unavailable(`cannot ${what}`, new Error('the registry is not started'));
    try {
      return await timeRegistryOperation(this, what, fn);
    } catch (err) {
      throw this.unavailable(`registry ${what} failed`, err);
    }
  }

  async #fetchLive(
    fetch: () => Promise<unknown[]>,
    keep: (record: InstanceRecord) => boolean,
  ): Promise<InstanceRecord[]> {
    return this.#live(await this.#guard('lookup', fetch), keep);
  }

  /** The valid, unexpired records of this namespace among raw rows (malformed ones are warned about). */
  #live(rows: unknown[], keep: (record: InstanceRecord) => boolean): InstanceRecord[] {
    const now = Date.now();
    const live: InstanceRecord[] = [];
    for (const row of rows) {
      const record = this.#parse(row);
      if (record && record.expiresAt > now && record.namespace === this.namespace && keep(record))
        live.push(record);
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
      await this.sweep(Date.now());
    } catch (err) {
      this.warn(this.unavailable('sweeping expired records failed', err));
    } finally {
      this.#sweeping = false;
    }
  }
}
