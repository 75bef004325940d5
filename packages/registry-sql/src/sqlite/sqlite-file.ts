import { existsSync, rmSync, statSync } from 'node:fs';
import { type InstanceRecord, RegistryUnavailableError } from '@sidecar/core';
import type { RegistryChange } from '@sidecar/core/plugin-kit';
import type Database from 'better-sqlite3';
import { recordText } from '../sql-text.js';
import { openSqlite, type SqliteTables } from './sqlite-schema.js';
import { prepareStatements, type SqliteStatements, type StoredRow } from './sqlite-statements.js';

/** One open connection to the file, with its statements and write transactions. */
export interface SqliteConnection {
  db: Database.Database;
  s: SqliteStatements;
  /** The inode of the file opened (a replaced file has another one). */
  ino: number;
  /** Upserts a record living `ttlMs` from now by SQLite's clock; returns its expiry. */
  put: (ns: string, record: InstanceRecord, ttlMs: number) => number;
  remove: (ns: string, instanceId: string, now: number) => void;
  sweep: (ns: string, now: number) => void;
}

/** Where the file is and how to open it. */
export interface SqliteFileSettings {
  path: string;
  tables: SqliteTables;
  busyTimeout: number;
}

/**
 * A registry's connection to its SQLite file. Each step runs on the connection; if it fails
 * because the file was deleted or replaced (another inode at the path), the file is opened
 * (created and migrated) again and the step retried once; `reopened` is told each time.
 */
export class SqliteFile {
  readonly #settings: SqliteFileSettings;
  readonly #reopened: () => void;
  #conn: SqliteConnection | undefined;

  constructor(settings: SqliteFileSettings, reopened: () => void) {
    this.#settings = settings;
    this.#reopened = reopened;
  }

  /** The open connection, if any. */
  get current(): SqliteConnection | undefined {
    return this.#conn;
  }

  /** Opens (creates, migrates) the file; a no-op when it is open. */
  open(signal?: AbortSignal): void {
    this.#conn ??= this.#connect(signal);
  }

  /** Closes the connection; never throws. */
  close(): void {
    const conn = this.#conn;
    this.#conn = undefined;
    try {
      conn?.db.close();
    } catch {
      // already closed, or its file deleted: dropped either way
    }
  }

  /** Runs a step on the connection; if it fails because the file was replaced, reopens and retries once. */
  use<T>(step: (conn: SqliteConnection) => T): T {
    const conn = this.#conn;
    if (!conn) throw new RegistryUnavailableError('the SQLite registry is closed');
    try {
      return step(conn);
    } catch (err) {
      if (!this.#replaced(conn)) throw err;
      return step(this.#reopen());
    }
  }

  /** The connection to the file now at the path (reopened if it was replaced), or undefined when closed. */
  fresh(): SqliteConnection | undefined {
    const conn = this.#conn;
    if (!conn) return undefined;
    return this.#replaced(conn) ? this.#reopen() : conn;
  }

  #connect(signal?: AbortSignal): SqliteConnection {
    const { path, tables, busyTimeout } = this.#settings;
    const db = openSqlite(path, tables, busyTimeout, signal);
    const s = prepareStatements(db, tables);
    const announce = (ns: string, type: RegistryChange['type'], rows: StoredRow[], now: number) => {
      for (const [text, expiresAt] of rows) s.announce.run(ns, type, Number(expiresAt), now, String(text));
    };
    return {
      db,
      s,
      ino: statSync(path).ino,
      put: db.transaction((ns: string, record: InstanceRecord, ttlMs: number) => {
        const existed = s.exists.get(ns, record.instanceId) !== undefined;
        const text = recordText(record);
        const [expiresAt, now] = s.upsert.get(ns, record.instanceId, record.name, ttlMs, text) as [
          number,
          number,
        ];
        s.announce.run(ns, existed ? 'update' : 'join', expiresAt, now, text);
        return expiresAt;
      }).immediate,
      remove: db.transaction((ns: string, instanceId: string, now: number) => {
        announce(ns, 'leave', s.deleteOne.all(ns, instanceId) as StoredRow[], now);
      }).immediate,
      sweep: db.transaction((ns: string, now: number) => {
        announce(ns, 'timeout', s.deleteExpired.all(ns, now) as StoredRow[], now);
      }).immediate,
    };
  }

  /** True when the path no longer names the file this connection has open. */
  #replaced(conn: SqliteConnection): boolean {
    const now = statSync(this.#settings.path, { throwIfNoEntry: false });
    return now === undefined || now.ino !== conn.ino;
  }

  #reopen(): SqliteConnection {
    const { path } = this.#settings;
    this.close();
    // A deleted database leaves its -wal and -shm behind; a new file must not pick them up.
    if (!existsSync(path)) for (const suffix of ['-wal', '-shm']) rmSync(path + suffix, { force: true });
    const conn = this.#connect();
    this.#conn = conn;
    this.#reopened();
    return conn;
  }
}
