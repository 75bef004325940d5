import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type Migration, runMigrationsSync, type SyncMigrationSession } from '../migrations.js';
import { quoteIdent } from '../options.js';

/** Quoted names of the SQLite tables for one prefix. */
export interface SqliteTables {
  prefix: string;
  instances: string;
  events: string;
  migrations: string;
}

/** The table names for a prefix (`sidecar_` gives `sidecar_instances`, ...). */
export function sqliteTables(prefix: string): SqliteTables {
  return {
    prefix,
    instances: quoteIdent(`${prefix}instances`),
    events: quoteIdent(`${prefix}events`),
    migrations: quoteIdent(`${prefix}migrations`),
  };
}

/** Versioned schema changes, applied in order, each exactly once per database. */
const MIGRATIONS: readonly Migration<SqliteTables>[] = [
  {
    version: 1,
    sql: (t) => `
      CREATE TABLE ${t.instances} (
        namespace   TEXT    NOT NULL,
        name        TEXT    NOT NULL,
        instance_id TEXT    NOT NULL,
        expires_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        record      TEXT    NOT NULL,
        PRIMARY KEY (namespace, instance_id)
      ) WITHOUT ROWID;
      CREATE INDEX ${quoteIdent(`${t.prefix}instances_by_name`)} ON ${t.instances} (namespace, name, expires_at);
      CREATE INDEX ${quoteIdent(`${t.prefix}instances_by_expiry`)} ON ${t.instances} (namespace, expires_at);
      CREATE TABLE ${t.events} (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace   TEXT    NOT NULL,
        type        TEXT    NOT NULL,
        expires_at  INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        record      TEXT    NOT NULL
      );
      CREATE INDEX ${quoteIdent(`${t.prefix}events_by_age`)} ON ${t.events} (created_at);`,
  },
];

/** The schema version this code expects. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Retries a synchronous step while another connection holds a lock that the busy handler does not cover. */
function retryBusy<T>(step: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return step();
    } catch (err) {
      if (!isBusy(err) || Date.now() > deadline) throw err;
      Atomics.wait(sleeper, 0, 0, 5 + Math.floor(Math.random() * 10));
    }
  }
}

/**
 * Opens (creating if needed) the file in WAL mode with a busy timeout, and brings its schema up
 * to date with the shared runner inside `BEGIN IMMEDIATE`, so peers starting at once on an empty
 * file migrate it once. Synchronous: see runMigrationsSync.
 */
export function openSqlite(
  path: string,
  tables: SqliteTables,
  busyTimeout: number,
  signal?: AbortSignal,
): Database.Database {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path, { timeout: busyTimeout });
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeout))}`);
    retryBusy(() => {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    }, busyTimeout);
    db.pragma('synchronous = NORMAL');
    const session: SyncMigrationSession = {
      exec: (sql) => void db.exec(sql),
      value: (sql) => db.prepare(sql).pluck().get(),
    };
    const plan = { names: tables, table: tables.migrations, migrations: MIGRATIONS };
    const migrate = db.transaction(() => runMigrationsSync(session, plan, signal));
    retryBusy(() => migrate.immediate(), busyTimeout);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
