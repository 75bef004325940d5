import { createHash } from 'node:crypto';
import { InvalidConfigError } from '@sidecar/core';
import type pg from 'pg';
import { type AsyncMigrationSession, type Migration, runMigrations } from '../migrations.js';
import { quoteIdent } from '../options.js';

/** Quoted, schema-qualified names of the PostgreSQL objects for one schema and prefix. */
export interface PgNames {
  schema: string;
  prefix: string;
  instances: string;
  events: string;
  migrations: string;
  /** The function that announces a change: an events row (for replay after a reconnect) and a NOTIFY. */
  announce: string;
  /** The NOTIFY channel (unquoted, as pg_notify takes it). */
  channel: string;
}

/** The object names for a schema and prefix. */
export function pgNames(schema: string, prefix: string): PgNames {
  const q = (name: string) => `${quoteIdent(schema)}.${quoteIdent(prefix + name)}`;
  const channel = schema === 'public' ? `${prefix}events` : `${schema}.${prefix}events`;
  if (Buffer.byteLength(channel) > 63) {
    throw new InvalidConfigError(`schema + table prefix are too long for a NOTIFY channel name (${channel})`);
  }
  return {
    schema,
    prefix,
    instances: q('instances'),
    events: q('events'),
    migrations: q('migrations'),
    announce: q('announce'),
    channel,
  };
}

/** Largest NOTIFY payload sent inline (PostgreSQL's limit is 8000 bytes). */
export const MAX_INLINE_PAYLOAD = 7800;

/** Versioned schema changes, applied in order, each exactly once per database. */
const MIGRATIONS: readonly Migration<PgNames>[] = [
  {
    version: 1,
    sql: (n) => `
      CREATE TABLE ${n.instances} (
        namespace   text   NOT NULL,
        name        text   NOT NULL,
        instance_id text   NOT NULL,
        expires_at  bigint NOT NULL,
        updated_at  bigint NOT NULL,
        record      text   NOT NULL,
        PRIMARY KEY (namespace, instance_id)
      );
      CREATE INDEX ${quoteIdent(`${n.prefix}instances_by_name`)} ON ${n.instances} (namespace, name, expires_at);
      CREATE INDEX ${quoteIdent(`${n.prefix}instances_by_expiry`)} ON ${n.instances} (namespace, expires_at);
      CREATE TABLE ${n.events} (
        id         bigserial PRIMARY KEY,
        namespace  text   NOT NULL,
        created_at bigint NOT NULL,
        payload    text   NOT NULL
      );
      CREATE INDEX ${quoteIdent(`${n.prefix}events_by_age`)} ON ${n.events} (namespace, created_at);
      CREATE FUNCTION ${n.announce}(channel text, kind text, ns text, rec text, expires bigint)
      RETURNS void LANGUAGE plpgsql AS $fn$
      DECLARE
        created bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
        payload text := json_build_object('t', kind, 'n', ns, 'e', expires, 'r', rec)::text;
        event_id bigint;
      BEGIN
        INSERT INTO ${n.events} (namespace, created_at, payload) VALUES (ns, created, payload)
        RETURNING id INTO event_id;
        IF octet_length(payload) > ${MAX_INLINE_PAYLOAD} THEN
          PERFORM pg_notify(channel, json_build_object('i', event_id, 'c', created, 'n', ns)::text);
        ELSE
          PERFORM pg_notify(channel, json_build_object('i', event_id, 'c', created, 't', kind, 'n', ns, 'e', expires, 'r', rec)::text);
        END IF;
      END
      $fn$;`,
  },
];

/** The schema version this code expects. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** A 64-bit advisory lock key for one schema (every prefix in it: they share CREATE SCHEMA), as a decimal string. */
function lockKey(names: PgNames): string {
  const digest = createHash('sha256').update(`sidecar-registry-sql:${names.schema}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/**
 * Creates or upgrades the schema with the shared runner in one transaction, under an advisory
 * lock, so that peers starting at once against an empty database migrate it exactly once.
 */
export async function migratePostgres(pool: pg.Pool, names: PgNames, signal?: AbortSignal): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  const session: AsyncMigrationSession = {
    exec: async (sql) => void (await client.query(sql)),
    value: async (sql) => Object.values((await client.query(sql)).rows[0] ?? {})[0],
    repair: (current) => repairDropped(client, names, current),
  };
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(names)]);
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [names.schema]);
    if (found.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(names.schema)}`);
    await runMigrations(session, { names, table: names.migrations, migrations: MIGRATIONS }, signal);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    broken ??= err as Error;
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Recorded as migrated but the records table is gone (dropped by hand): starts over from version 0. */
async function repairDropped(client: pg.PoolClient, names: PgNames, current: number): Promise<number> {
  if (current === 0) return 0;
  const { rows } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
    names.instances,
  ]);
  if (rows[0]?.ok) return current;
  await client.query(`DROP TABLE IF EXISTS ${names.events}`);
  await client.query(`DROP FUNCTION IF EXISTS ${names.announce}(text, text, text, text, bigint)`);
  await client.query(`DELETE FROM ${names.migrations}`);
  return 0;
}
