import { existsSync, rmSync, statSync } from 'node:fs';
import { type InstanceRecord, RegistryUnavailableError } from '@sidecar/core';
import type Database from 'better-sqlite3';
import {
  type DialectHost,
  escapeLike,
  isChangeType,
  type RawChange,
  recordText,
  rowValue,
  type SqlDialect,
} from '../dialect.js';
import { openSqlite, type SqliteTables, sqliteTables } from './sqlite-schema.js';
import {
  EVENT_BATCH,
  type EventRow,
  prepareStatements,
  type SqliteStatements,
  type StoredRow,
} from './sqlite-statements.js';

/** Settings of the SQLite dialect (defaults are applied by SqlRegistry). */
export interface SqliteDialectSettings {
  path: string;
  tablePrefix: string;
  pollInterval: number;
  busyTimeout: number;
  eventRetention: number;
}

interface Connection {
  db: Database.Database;
  s: SqliteStatements;
  ino: number;
  put: (ns: string, record: InstanceRecord, now: number) => void;
  remove: (ns: string, instanceId: string, now: number) => void;
  sweep: (ns: string, now: number) => void;
}

/** Largest number of event batches read per poll (bounds the time one poll may take). */
const MAX_BATCHES_PER_POLL = 40;

/**
 * SQLite through better-sqlite3: one connection per registry, WAL mode, writes in `BEGIN
 * IMMEDIATE` transactions that append their announcement to an events table. Watchers poll
 * `PRAGMA data_version` and read only the events after the last one they saw. Each poll also
 * checks that the file is still the one opened, and reopens (and migrates) a replaced file.
 */
export class SqliteDialect implements SqlDialect {
  readonly kind = 'sqlite' as const;
  readonly reach = 'machine' as const;
  readonly #host: DialectHost;
  readonly #settings: SqliteDialectSettings;
  readonly #tables: SqliteTables;
  #conn: Connection | undefined;
  #timer: NodeJS.Timeout | undefined;
  #deliver: ((change: RawChange) => void) | undefined;
  #lastEventId = 0;
  #dataVersion = -1;
  #readQueued = false;
  #lastPrune = 0;
  #pollFailing = false;

  constructor(host: DialectHost, settings: SqliteDialectSettings) {
    this.#host = host;
    this.#settings = settings;
    this.#tables = sqliteTables(settings.tablePrefix);
  }

  /** The database file. */
  get path(): string {
    return this.#settings.path;
  }

  async open(): Promise<void> {
    if (this.#conn) return;
    this.#conn = this.#connect();
    this.#timer = setInterval(() => this.#poll(), this.#settings.pollInterval);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#deliver = undefined;
    const conn = this.#conn;
    this.#conn = undefined;
    try {
      conn?.db.close();
    } catch {
      // already closed
    }
  }

  async put(record: InstanceRecord, ttlMs: number): Promise<number> {
    const expiresAt = this.#use((c) => {
      const now = clockOf(c);
      c.put(this.#host.namespace, { ...record, expiresAt: now + ttlMs }, now);
      return now + ttlMs;
    });
    this.#queueRead();
    return expiresAt;
  }

  async touch(instanceId: string, ttlMs: number): Promise<boolean> {
    return this.#use((c) => {
      const now = clockOf(c);
      return c.s.touch.run(now + ttlMs, now, this.#host.namespace, instanceId).changes > 0;
    });
  }

  async remove(instanceId: string): Promise<void> {
    this.#use((c) => c.remove(this.#host.namespace, instanceId, clockOf(c)));
    this.#queueRead();
  }

  async fetchByName(name: string): Promise<unknown[]> {
    const rows = this.#use((c) => c.s.byName.all(this.#host.namespace, name, clockOf(c)) as StoredRow[]);
    return rows.map((r) => rowValue(r[0], r[1]));
  }

  async fetchAll(prefix: string): Promise<unknown[]> {
    const ns = this.#host.namespace;
    const rows = this.#use((c) => {
      const now = clockOf(c);
      return (
        prefix === '' ? c.s.all.all(ns, now) : c.s.byPrefix.all(ns, now, `${escapeLike(prefix)}%`)
      ) as StoredRow[];
    });
    return rows.map((r) => rowValue(r[0], r[1]));
  }

  async sweep(): Promise<void> {
    const ns = this.#host.namespace;
    let swept = false;
    this.#use((c) => {
      const now = clockOf(c);
      // A read first: the write lock is taken only when something has expired.
      if (c.s.anyExpired.get(ns, now) !== undefined) {
        c.sweep(ns, now);
        swept = true;
      }
      const retention = this.#settings.eventRetention;
      if (now - this.#lastPrune > retention / 4) {
        this.#lastPrune = now;
        if (c.s.anyOldEvent.get(now - retention) !== undefined) c.s.pruneEvents.run(now - retention);
      }
    });
    if (swept) this.#queueRead();
  }

  async subscribe(deliver: (change: RawChange) => void): Promise<void> {
    this.#use((c) => {
      this.#lastEventId = c.s.lastEvent.get() as number;
      this.#dataVersion = c.s.dataVersion.get() as number;
    });
    this.#deliver = deliver;
  }

  async unsubscribe(): Promise<void> {
    this.#deliver = undefined;
  }

  // ---- internals ---------------------------------------------------------------------------

  #connect(): Connection {
    const { path, busyTimeout } = this.#settings;
    const db = openSqlite(path, this.#tables, busyTimeout);
    const s = prepareStatements(db, this.#tables);
    const announce = (ns: string, type: RawChange['type'], rows: StoredRow[], now: number) => {
      for (const [text, expiresAt] of rows) s.announce.run(ns, type, Number(expiresAt), now, String(text));
    };
    return {
      db,
      s,
      ino: statSync(path).ino,
      put: db.transaction((ns: string, record: InstanceRecord, now: number) => {
        const existed = s.exists.get(ns, record.instanceId) !== undefined;
        const text = recordText(record);
        s.upsert.run(ns, record.instanceId, record.name, record.expiresAt, now, text);
        s.announce.run(ns, existed ? 'update' : 'join', record.expiresAt, now, text);
      }).immediate,
      remove: db.transaction((ns: string, instanceId: string, now: number) => {
        announce(ns, 'leave', s.deleteOne.all(ns, instanceId) as StoredRow[], now);
      }).immediate,
      sweep: db.transaction((ns: string, now: number) => {
        announce(ns, 'timeout', s.deleteExpired.all(ns, now) as StoredRow[], now);
      }).immediate,
    };
  }

  /** Runs a step on the connection; if it fails because the file was replaced, reopens and retries once. */
  #use<T>(step: (conn: Connection) => T): T {
    const conn = this.#conn;
    if (!conn) throw new RegistryUnavailableError('the SQLite registry is closed');
    try {
      return step(conn);
    } catch (err) {
      if (!this.#replaced(conn)) throw err;
      return step(this.#reopen());
    }
  }

  /** True when the path no longer names the file this connection has open. */
  #replaced(conn: Connection): boolean {
    const now = statSync(this.#settings.path, { throwIfNoEntry: false });
    return now === undefined || now.ino !== conn.ino;
  }

  #reopen(): Connection {
    const { path } = this.#settings;
    try {
      this.#conn?.db.close();
    } catch {
      // closing a connection to a deleted file may fail; it is dropped either way
    }
    this.#conn = undefined;
    // A deleted database leaves its -wal and -shm behind; a new file must not pick them up.
    if (!existsSync(path)) for (const suffix of ['-wal', '-shm']) rmSync(path + suffix, { force: true });
    const conn = this.#connect();
    this.#conn = conn;
    this.#lastEventId = 0;
    this.#dataVersion = -1;
    this.#host.invalidate();
    this.#host.warn(
      new RegistryUnavailableError(`the registry file ${path} was deleted or replaced; opened it again`),
    );
    return conn;
  }

  #poll(): void {
    const conn = this.#conn;
    if (!conn) return;
    try {
      const current = this.#replaced(conn) ? this.#reopen() : conn;
      if (this.#deliver) {
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
      const detail = err instanceof Error ? err.message : String(err);
      this.#host.warn(
        new RegistryUnavailableError(`watching the SQLite registry failed: ${detail}`, { cause: err }),
      );
    }
  }

  /** Our own commits do not change our data_version: read our own announcements soon after. */
  #queueRead(): void {
    if (!this.#deliver || this.#readQueued) return;
    this.#readQueued = true;
    setImmediate(() => {
      this.#readQueued = false;
      const conn = this.#conn;
      if (!conn || !this.#deliver) return;
      try {
        this.#readEvents(conn);
      } catch (err) {
        this.#host.warn(new RegistryUnavailableError(`reading registry events failed: ${String(err)}`));
      }
    });
  }

  #readEvents(conn: Connection): void {
    const ns = this.#host.namespace;
    for (let batch = 0; batch < MAX_BATCHES_PER_POLL; batch++) {
      const rows = conn.s.events.all(this.#lastEventId) as EventRow[];
      for (const [id, namespace, type, text, expiresAt] of rows) {
        this.#lastEventId = id;
        const deliver = this.#deliver;
        if (deliver && namespace === ns && isChangeType(type))
          deliver({ type, record: rowValue(text, expiresAt) });
      }
      if (rows.length < EVENT_BATCH) return;
    }
    // More remain: read them on the next poll.
    this.#dataVersion = -1;
  }
}

/** The time by SQLite's clock (the machine's, not this process's idea of it), in ms. */
function clockOf(c: { s: { clock: { get(): unknown } } }): number {
  return Number(c.s.clock.get());
}
