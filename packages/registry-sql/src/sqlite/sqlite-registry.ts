import { type InstanceRecord, RegistryUnavailableError } from '@sidecar/core';
import { BaseRegistry, StoredRecord, throwIfAborted } from '@sidecar/core/plugin-kit';
import {
  DEFAULT_BUSY_TIMEOUT,
  DEFAULT_POLL_INTERVAL,
  type SqlRegistryOptions,
  sqlCommon,
} from '../options.js';
import { escapeLike, literalPrefix } from '../sql-text.js';
import { acquireFile, type FileLease } from './shared-file.js';
import { SqliteFeed, type SqliteFeedSink } from './sqlite-feed.js';
import type { SqliteConnection, SqliteFileSettings } from './sqlite-file.js';
import { sqliteTables } from './sqlite-schema.js';
import type { StoredRow } from './sqlite-statements.js';

/**
 * The SQL registry on a SQLite file (peers on one machine; the zero-configuration default),
 * through better-sqlite3: one connection per registry, WAL mode, writes in `BEGIN IMMEDIATE`
 * transactions that append their announcement to an events table. Watches go through one
 * SqliteFeed per file and namespace in the process (a poller of `PRAGMA data_version` that reads
 * only the events after the last one seen). Every poll interval the registry also checks that
 * the file is still the one opened, and reopens (and migrates) a replaced file.
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
  #lease: FileLease | undefined;
  readonly #settings: SqliteFileSettings;
  readonly #pollInterval: number;
  readonly #eventRetention: number;
  #lastPrune = 0;

  constructor(options: SqlRegistryOptions = {}) {
    super(options);
    const { target, tablePrefix, eventRetention } = sqlCommon(options, 'sqlite');
    this.location = target.path;
    this.#pollInterval = options.pollInterval ?? DEFAULT_POLL_INTERVAL;
    this.#eventRetention = eventRetention;
    const busyTimeout = options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT;
    this.#settings = { path: target.path, tables: sqliteTables(tablePrefix), busyTimeout };
  }

  /** One connection per file in the process, shared by its registries (see shared-file.ts). */
  protected async connect(signal?: AbortSignal): Promise<void> {
    if (this.#lease) return;
    this.#lease = acquireFile(
      this.#settings,
      this.#pollInterval,
      {
        reopened: () => this.#reopened(),
        failed: (err) => this.warn(this.unavailable('checking the SQLite registry file failed', err)),
      },
      signal,
    );
  }

  protected async disconnect(): Promise<void> {
    this.#lease?.release();
    this.#lease = undefined;
  }

  protected put(record: InstanceRecord, ttlMs: number, signal?: AbortSignal): number {
    return this.#use(signal, (c) => c.put(this.namespace, record, ttlMs));
  }

  protected touch(instanceId: string, ttlMs: number, signal?: AbortSignal): boolean {
    return this.#use(signal, (c) => c.s.touch.run(ttlMs, this.namespace, instanceId).changes > 0);
  }

  protected remove(instanceId: string, signal?: AbortSignal): void {
    this.#use(signal, (c) => c.remove(this.namespace, instanceId, clockOf(c)));
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
    this.#use(signal, (c) => {
      const now = clockOf(c);
      // A read first: the write lock is taken only when something has expired.
      if (c.s.anyExpired.get(ns, now) !== undefined) {
        c.sweep(ns, now);
      }
      const retention = this.#eventRetention;
      if (now - this.#lastPrune > retention / 4) {
        this.#lastPrune = now;
        if (c.s.anyOldEvent.get(now - retention) !== undefined) c.s.pruneEvents.run(now - retention);
      }
    });
  }

  /** Every registry of the process on this file and namespace shares one poller (see SqliteFeed). */
  protected override feedKey(): string {
    return `sqlite\u0000${this.location}\u0000${this.#settings.tables.events}`;
  }

  protected override async openFeed(sink: SqliteFeedSink, signal?: AbortSignal): Promise<() => void> {
    const feed = new SqliteFeed(this.#settings, this.namespace, sink);
    feed.open(this.#pollInterval, signal);
    return () => feed.close();
  }

  protected async subscribe(): Promise<void> {
    throw new Error('the SQLite registry watches through its shared feed');
  }

  protected async unsubscribe(): Promise<void> {}

  // ---- internals ---------------------------------------------------------------------------

  /** Runs one synchronous step on the file, unless the caller has given up already. */
  #use<T>(signal: AbortSignal | undefined, step: (conn: SqliteConnection) => T): T {
    throwIfAborted(signal);
    const lease = this.#lease;
    if (!lease) throw new RegistryUnavailableError('the SQLite registry is closed');
    return lease.file.use(step);
  }

  /** The file was deleted or replaced and opened again: changes in between were missed. */
  #reopened(): void {
    this.invalidateCache();
    this.warn(
      new RegistryUnavailableError(
        `the registry file ${this.location} was deleted or replaced; opened it again`,
      ),
    );
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
