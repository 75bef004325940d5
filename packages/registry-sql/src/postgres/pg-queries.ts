import { MAX_INLINE_PAYLOAD, type PgNames } from './pg-schema.js';

/** A named (server-side prepared) statement. */
export interface PgQuery {
  name: string;
  text: string;
}

/** Every statement the PostgreSQL dialect runs; all parameterized, each a single statement. */
export interface PgQueries {
  put: PgQuery;
  touch: PgQuery;
  remove: PgQuery;
  byName: PgQuery;
  all: PgQuery;
  byPrefix: PgQuery;
  sweep: PgQuery;
  prune: PgQuery;
  event: PgQuery;
  replay: PgQuery;
  clock: PgQuery;
}

/**
 * The database's time in ms. Every expiry is computed and compared with it (never with a peer's
 * clock), so a peer whose clock is off is seen, and times out, like every other.
 */
export const PG_NOW = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

/** Builds the statements for one schema and prefix. */
export function pgQueries(n: PgNames): PgQueries {
  const q = (name: string, text: string): PgQuery => ({ name: `sidecar-${name}`, text });
  return {
    // xmax = 0 holds for a freshly inserted row, not for one the ON CONFLICT branch updated.
    // The announcement is written out here in plain SQL (the announce function's events row and
    // NOTIFY, same payloads): the hot path of every register skips a plpgsql call.
    put: q(
      'put',
      `WITH up AS (
         INSERT INTO ${n.instances} AS t (namespace, instance_id, name, record, expires_at, updated_at)
         VALUES ($1, $2, $3, $4, ${PG_NOW} + $5::bigint, ${PG_NOW})
         ON CONFLICT (namespace, instance_id) DO UPDATE SET
           name = EXCLUDED.name, record = EXCLUDED.record,
           expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at
         RETURNING CASE WHEN t.xmax = 0 THEN 'join' ELSE 'update' END AS kind, t.namespace, t.record, t.expires_at
       ), ev AS (
         INSERT INTO ${n.events} (namespace, created_at, payload)
         SELECT namespace, ${PG_NOW}, json_build_object('t', kind, 'n', namespace, 'e', expires_at, 'r', record)::text
         FROM up
         RETURNING id, created_at, payload
       )
       SELECT pg_notify($6::text, CASE WHEN octet_length(ev.payload) > ${MAX_INLINE_PAYLOAD}
           THEN json_build_object('i', ev.id, 'c', ev.created_at, 'n', up.namespace)::text
           ELSE json_build_object('i', ev.id, 'c', ev.created_at, 't', up.kind, 'n', up.namespace, 'e', up.expires_at, 'r', up.record)::text
         END),
         up.expires_at
       FROM up, ev`,
    ),
    touch: q(
      'touch',
      `UPDATE ${n.instances} SET expires_at = ${PG_NOW} + $3::bigint, updated_at = ${PG_NOW}
       WHERE namespace = $1 AND instance_id = $2`,
    ),
    remove: q(
      'remove',
      `WITH gone AS (
         DELETE FROM ${n.instances} WHERE namespace = $1 AND instance_id = $2
         RETURNING namespace, record, expires_at
       )
       SELECT ${n.announce}($3, 'leave', namespace, record, expires_at) FROM gone`,
    ),
    byName: q(
      'by-name',
      `SELECT record, expires_at FROM ${n.instances} WHERE namespace = $1 AND name = $2 AND expires_at > ${PG_NOW}`,
    ),
    all: q(
      'all',
      `SELECT record, expires_at FROM ${n.instances} WHERE namespace = $1 AND expires_at > ${PG_NOW}`,
    ),
    byPrefix: q(
      'by-prefix',
      `SELECT record, expires_at FROM ${n.instances}
       WHERE namespace = $1 AND expires_at > ${PG_NOW} AND name LIKE $2 ESCAPE '\\'`,
    ),
    sweep: q(
      'sweep',
      `WITH gone AS (
         DELETE FROM ${n.instances} WHERE namespace = $1 AND expires_at <= ${PG_NOW}
         RETURNING namespace, record, expires_at
       )
       SELECT ${n.announce}($2, 'timeout', namespace, record, expires_at) FROM gone`,
    ),
    prune: q('prune', `DELETE FROM ${n.events} WHERE namespace = $1 AND created_at < ${PG_NOW} - $2::bigint`),
    event: q('event', `SELECT payload FROM ${n.events} WHERE id = $1`),
    replay: q(
      'replay',
      `SELECT id, created_at, payload FROM ${n.events} WHERE namespace = $1 AND created_at >= $2 ORDER BY id`,
    ),
    clock: q('clock', `SELECT ${PG_NOW} AS now`),
  };
}
