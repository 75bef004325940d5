import type Database from 'better-sqlite3';
import type { SqliteTables } from './sqlite-schema.js';

/** Largest number of events read in one batch. */
export const EVENT_BATCH = 500;

/** A stored row as read back: [record JSON, expires_at]. */
export type StoredRow = [record: unknown, expiresAt: unknown];
/** An events row: [id, namespace, type, record JSON, expires_at]. */
export type EventRow = [id: number, namespace: string, type: string, record: unknown, expiresAt: unknown];

/**
 * SQLite's clock in ms (the machine's, not this process's idea of it). Written into the
 * statements that need it, so a lookup or a renew is one statement, not a clock read and then
 * the statement; 'now' is the same for the whole of one statement.
 */
const NOW = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`;

/** Every statement the SQLite dialect runs, prepared once per connection; all parameterized. */
export interface SqliteStatements {
  exists: Database.Statement<[string, string]>;
  /** [namespace, id, name, ttl ms, record]: expiry and update time by SQLite's clock, returned. */
  upsert: Database.Statement<[string, string, string, number, string]>;
  /** [ttl ms, namespace, instance id]: the expiry is computed by SQLite's clock. */
  touch: Database.Statement<[number, string, string]>;
  deleteOne: Database.Statement<[string, string]>;
  /** Live by SQLite's clock, like `all` and `byPrefix`. */
  byName: Database.Statement<[string, string]>;
  all: Database.Statement<[string]>;
  byPrefix: Database.Statement<[string, string]>;
  anyExpired: Database.Statement<[string, number]>;
  deleteExpired: Database.Statement<[string, number]>;
  announce: Database.Statement<[string, string, number, number, string]>;
  events: Database.Statement<[number]>;
  lastEvent: Database.Statement<[]>;
  anyOldEvent: Database.Statement<[number]>;
  pruneEvents: Database.Statement<[number]>;
  dataVersion: Database.Statement<[]>;
  /** The time by SQLite's clock (the machine's), in ms: every expiry is computed and compared with it. */
  clock: Database.Statement<[]>;
}

/** Prepares the statements on a migrated connection. */
export function prepareStatements(db: Database.Database, t: SqliteTables): SqliteStatements {
  const p = (sql: string) => db.prepare(sql);
  return {
    exists: p(`SELECT 1 FROM ${t.instances} WHERE namespace = ? AND instance_id = ?`).pluck(),
    upsert: p(
      `INSERT INTO ${t.instances} (namespace, instance_id, name, expires_at, updated_at, record)
       VALUES (?, ?, ?, ${NOW} + ?, ${NOW}, ?)
       ON CONFLICT (namespace, instance_id) DO UPDATE SET
         name = excluded.name, expires_at = excluded.expires_at,
         updated_at = excluded.updated_at, record = excluded.record
       RETURNING expires_at, updated_at`,
    ).raw(),
    touch: p(
      `UPDATE ${t.instances} SET expires_at = ${NOW} + ?, updated_at = ${NOW} WHERE namespace = ? AND instance_id = ?`,
    ),
    deleteOne: p(
      `DELETE FROM ${t.instances} WHERE namespace = ? AND instance_id = ? RETURNING record, expires_at`,
    ).raw(),
    byName: p(
      `SELECT record, expires_at FROM ${t.instances} WHERE namespace = ? AND name = ? AND expires_at > ${NOW}`,
    ).raw(),
    all: p(`SELECT record, expires_at FROM ${t.instances} WHERE namespace = ? AND expires_at > ${NOW}`).raw(),
    byPrefix: p(
      `SELECT record, expires_at FROM ${t.instances}
       WHERE namespace = ? AND expires_at > ${NOW} AND name LIKE ? ESCAPE '\\'`,
    ).raw(),
    anyExpired: p(`SELECT 1 FROM ${t.instances} WHERE namespace = ? AND expires_at <= ? LIMIT 1`).pluck(),
    deleteExpired: p(
      `DELETE FROM ${t.instances} WHERE namespace = ? AND expires_at <= ? RETURNING record, expires_at`,
    ).raw(),
    announce: p(
      `INSERT INTO ${t.events} (namespace, type, expires_at, created_at, record) VALUES (?, ?, ?, ?, ?)`,
    ),
    events: p(
      `SELECT id, namespace, type, record, expires_at FROM ${t.events} WHERE id > ? ORDER BY id LIMIT ${EVENT_BATCH}`,
    ).raw(),
    lastEvent: p(`SELECT coalesce(max(id), 0) FROM ${t.events}`).pluck(),
    anyOldEvent: p(`SELECT 1 FROM ${t.events} WHERE created_at < ? LIMIT 1`).pluck(),
    pruneEvents: p(`DELETE FROM ${t.events} WHERE created_at < ?`),
    dataVersion: p('PRAGMA data_version').pluck(),
    clock: p(`SELECT ${NOW}`).pluck(),
  };
}
