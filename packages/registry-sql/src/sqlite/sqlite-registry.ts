import { type InstanceRecord, RegistryUnavailableError } from '@sidecar/core';
import { BaseRegistry, isChangeType, StoredRecord, throwIfAborted } from '@sidecar/core/plugin-kit';
import {
  DEFAULT_BUSY_TIMEOUT,
  DEFAULT_POLL_INTERVAL,
  type SqlRegistryOptions,
  sqlCommon,
} from '../options.js';
import { escapeLike, literalPrefix } from '../sql-text.js';
import { type SqliteConnection, SqliteFile } from './sqlite-file.js';
import { sqliteTables } from './sqlite-schema.js';
import { EVENT_BATCH, type EventRow, type StoredRow } from './sqlite-statements.js';

/** Largest number of event batches read per poll (bounds the time one poll may take). */
const MAX_BATCHES_PER_POLL = 40;

/**
 * The SQL registry on a SQLite file (peers on one machine; the zero-configuration default),
 * through better-sqlite3: one connection per registry, WAL mode, writes in `BEGIN IMMEDIATE`
 * transactions that append their announcement to an events table. Watchers poll
 * `PRAGMA data_version` and read only the events after the last one they saw. Each poll also
 * checks that the file is still the one opened, and reopens (and migrates) a replaced file.
 *
 * @example
 * ```ts
 * const registry = new SqliteRegistry({ url: 'sqlite:/tmp/registry.db' });
 * await registry.start();
 * const billing = await registry.lookup('billing');
 * ```
 */
export class SqliteRegistry extends BaseRegistry {
  readonly reach = 'machine' as const;
  /** An embedded file: no network host (see Registry.host). */
  readonly host: undefined = undefined;
  /** Which database engine is in use. */
  readonly dialect = 'sqlite' as const;
  /** The SQLite file. */
  readonly location: string;
  readonly #file: SqliteFile;
  readonly #pollInterval: number;
  readonly #eventRetention: number;
  #timer: NodeJS.Timeout | undefined;
  #deliver: ((change: unknown) => void) | undefined;
  #lastEventId = 0;
  #dataVersion = -1;
  #readQueued = false;
  #lastPrune = 0;
  #pollFailing = false;

  constructor(options: SqlRegistryOptions = {}) {
    super(options);
    const { target, tablePrefix, eventRetention } = sqlCommon(options, 'sqlite');
    this.location = target.path;
    this.#pollInterval = options.pollInterval ?? DEFAULT_POLL_INTERVAL;
    this.#eventRetention = eventRetention;
    const busyTimeout = options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT;
    this.#file = new SqliteFile({ path: target.path, tables: sqliteTables(tablePrefix), busyTimeout }, () =>
      this.#reopened(),
    );
  }

  protected async connect(signal?: AbortSignal): Promise<void> {
    if (this.#file.current) return;
    this.#file.open(signal);
    this.#timer = setInterval(() => this.#poll(), this.#pollInterval);
    this.#timer.unref();
  }

  protected async disconnect(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#deliver = undefined;
    this.#file.close();
  }

  protected put(record: InstanceRecord, ttlMs: number, signal?: AbortSignal): number {
    const expiresAt = this.#use(signal, (c) => {
      const now = clockOf(c);
      c.put(this.namespace, { ...record, expiresAt: now + ttlMs }, now);
      return now + ttlMs;
    });
    this.#queueRead();
    return expiresAt;
  }

  protected touch(instanceId: string, ttlMs: number, signal?: AbortSignal): boolean {
    return this.#use(signal, (c) => c.s.touch.run(ttlMs, this.namespace, instanceId).changes > 0);
  }

  protected remove(instanceId: string, signal?: AbortSignal): void {
    this.#use(signal, (c) => c.remove(this.namespace, instanceId, clockOf(c)));
    this.#queueRead();
  }

  protected fetchByName(name: string, signal?: AbortSignal): unknown[] {
    return this.#use(signal, (c) => stored(c.s.byName.all(this.namespace, name)));
  }

  protected fetchAll(pattern: string, signal?: AbortSignal): unknown[] {
    const prefix = literalPrefix(pattern);
    return this.#use(signal, (c) =>
      stored(
        prefix === ''
          ? c.s.all.all(this.namespace)
          : c.s.byPrefix.all(this.namespace, `${escapeLike(prefix)}%`),
      ),
    );
  }

  protected async sweep(signal?: AbortSignal): Promise<void> {
    const ns = this.namespace;
    let swept = false;
    this.#use(signal, (c) => {
      const now = clockOf(c);
      // A read first: the write lock is taken only when something has expired.
      if (c.s.anyExpired.get(ns, now) !== undefined) {
        c.sweep(ns, now);
        swept = true;
      }
      const retention = this.#eventRetention;
      if (now - this.#lastPrune > retention / 4) {
        this.#lastPrune = now;
        if (c.s.anyOldEvent.get(now - retention) !== undefined) c.s.pruneEvents.run(now - retention);
      }
    });
    if (swept) this.#queueRead();
  }

  protected async subscribe(deliver: (change: unknown) => void, signal?: AbortSignal): Promise<void> {
    this.#use(signal, (c) => {
      this.#lastEventId = c.s.lastEvent.get() as number;
      this.#dataVersion = c.s.dataVersion.get() as number;
    });
    this.#deliver = deliver;
  }

  protected async unsubscribe(): Promise<void> {
    this.#deliver = undefined;
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Runs one synchronous step on the file, unless the caller has given up already. */
  #use<T>(signal: AbortSignal | undefined, step: (conn: SqliteConnection) => T): T {
    throwIfAborted(signal);
    return this.#file.use(step);
  }

  /** The file was deleted or replaced and opened again: changes in between were missed. */
  #reopened(): void {
    this.#lastEventId = 0;
    this.#dataVersion = -1;
    this.invalidateCache();
    this.warn(
      new RegistryUnavailableError(
        `the registry file ${this.location} was deleted or replaced; opened it again`,
      ),
    );
  }

  #poll(): void {
    try {
      const current = this.#file.fresh();
      if (current && this.#deliver) {
        const version = current.s.dataVersion.get() as number;
        if (version !== this.#dataVersion) {
          this.#dataVersion = version;
          this.#readEvents(current);
        }
      }
      this.#pollFailing = false;
    } catch (err) {
      if (this.#pollFailing) return; // one warning per outage, not one per poll
      this.#pollFailing = true;
      this.warn(this.unavailable('watching the SQLite registry failed', err));
    }
  }

  /** Our own commits do not change our data_version: read our own announcements soon after. */
  #queueRead(): void {
    if (!this.#deliver || this.#readQueued) return;
    this.#readQueued = true;
    setImmediate(() => {
      this.#readQueued = false;
      const conn = this.#file.current;
      if (!conn || !this.#deliver) return;
      try {
        this.#readEvents(conn);
      } catch (err) {
        this.warn(new RegistryUnavailableError(`reading registry events failed: ${String(err)}`));
      }
    });
  }

  #readEvents(conn: SqliteConnection): void {
    const ns = this.namespace;
    for (let batch = 0; batch < MAX_BATCHES_PER_POLL; batch++) {
      const rows = conn.s.events.all(this.#lastEventId) as EventRow[];
      for (const [id, namespace, type, text, expiresAt] of rows) {
        this.#lastEventId = id;
        const deliver = this.#deliver;
        if (deliver && namespace === ns && isChangeType(type))
          deliver({ type, record: new StoredRecord(text, expiresAt) });
      }
      if (rows.length < EVENT_BATCH) return;
    }
    // More remain: read them on the next poll.
    this.#dataVersion = -1;
  }
}

/** Rows as the raw values BaseRegistry decodes: each record's JSON text with its expiry column. */
function stored(rows: unknown[]): StoredRecord[] {
  return (rows as StoredRow[]).map(([text, expiresAt]) => new StoredRecord(text, expiresAt));
}

/** The time by SQLite's clock (the machine's, not this process's idea of it), in ms. */
function clockOf(c: SqliteConnection): number {
  return Number(c.s.clock.get());
}
