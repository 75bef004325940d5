import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { InvalidConfigError } from '@sidecar/core';
import type { BaseRegistryOptions } from '@sidecar/core/plugin-kit';
import type pg from 'pg';

/** Default table name prefix: tables are `sidecar_instances`, `sidecar_events`, `sidecar_migrations`. */
export const DEFAULT_TABLE_PREFIX = 'sidecar_';
/** Default PostgreSQL schema. */
export const DEFAULT_SCHEMA = 'public';
/** Default interval at which a SQLite registry checks the file for changes (PRAGMA data_version), in ms. */
export const DEFAULT_POLL_INTERVAL = 50;
/** Default time a SQLite statement waits for another process's write lock, in ms. */
export const DEFAULT_BUSY_TIMEOUT = 5000;
/** Default time announced changes stay in the events table, in ms. */
export const DEFAULT_EVENT_RETENTION = 60_000;
/** Default time a new PostgreSQL connection may take, in ms. */
export const DEFAULT_CONNECT_TIMEOUT = 5000;
/** Default time one PostgreSQL query may take before it fails (and its connection is dropped), in ms. */
export const DEFAULT_QUERY_TIMEOUT = 5000;
/** Idle time before TCP keepalive probes start on a PostgreSQL connection, in ms. */
export const DEFAULT_PG_KEEPALIVE = 1000;

/** Options of the SQL registry (SQLite or PostgreSQL, chosen by `url`). */
export interface SqlRegistryOptions extends BaseRegistryOptions {
  /**
   * Where the registry lives: `sqlite:PATH` (a file; `~/` is expanded) or `postgres://user:pass@host/db`.
   * @default `sqlite:` + defaultSqlitePath() ($XDG_STATE_HOME/sidecar/registry.db, else ~/.local/state/sidecar/registry.db)
   */
  url?: string;
  /** Prefix of every table (and index, function, NOTIFY channel) name: letters, digits, `_`. @default 'sidecar_' */
  tablePrefix?: string;
  /** PostgreSQL schema holding the tables (created if missing). Ignored by SQLite. @default 'public' */
  schema?: string;
  /** PostgreSQL TLS: `true`, or node:tls options (ca, cert, key, rejectUnauthorized...). @default undefined (from the URL's sslmode) */
  ssl?: boolean | ConnectionOptions;
  /**
   * How long one PostgreSQL query may take before it fails, in ms; its connection is then
   * dropped, and after `reconnectAfterTimeouts` of them in a row every connection is made again.
   * @default 5000
   */
  queryTimeout?: number;
  /** PostgreSQL pool settings passed to pg.Pool as they are (max, idleTimeoutMillis, ...). @default {} */
  pool?: Omit<pg.PoolConfig, 'connectionString' | 'ssl'>;
  /** How often a SQLite registry checks the file for changes and replacement, in ms. @default 50 */
  pollInterval?: number;
  /** How long a SQLite statement waits for another process's lock before failing, in ms. @default 5000 */
  busyTimeout?: number;
  /** How long announced changes are kept for watchers that fall behind, in ms. @default 60000 */
  eventRetention?: number;
  /** Environment for the default path (`XDG_STATE_HOME`, `HOME`). @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Where a registry URL points. */
export type SqlTarget = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The SQLite file used when no URL is given: one per user, so that every process of the user
 * finds the others with no configuration.
 *
 * @example
 * ```ts
 * defaultSqlitePath(); // '/home/ada/.local/state/sidecar/registry.db'
 * ```
 */
export function defaultSqlitePath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const state = env.XDG_STATE_HOME;
  if (state && isAbsolute(state)) return join(state, 'sidecar', 'registry.db');
  return join(env.HOME || homedir(), '.local', 'state', 'sidecar', 'registry.db');
}

/** Turns `options.url` into a dialect and a location; throws InvalidConfigError for anything else. */
export function parseSqlUrl(
  url: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SqlTarget {
  if (url === undefined || url === '' || url === 'sql')
    return { dialect: 'sqlite', path: defaultSqlitePath(env) };
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', url };
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/path
    if (path === '') return { dialect: 'sqlite', path: defaultSqlitePath(env) };
    if (path === ':memory:' || path.startsWith('file:')) {
      throw new InvalidConfigError(
        `sqlite URL ${JSON.stringify(url)}: give a file path (sqlite:/path/to/registry.db)`,
      );
    }
    if (path === '~' || path.startsWith('~/')) path = join(env.HOME || homedir(), path.slice(1));
    return { dialect: 'sqlite', path: resolve(path) };
  }
  throw new InvalidConfigError(
    `unknown SQL registry URL ${JSON.stringify(url)}: use sqlite:PATH or postgres://user:pass@host/db`,
  );
}

/** Checks an identifier-like option (prefix, schema) so it can be quoted safely into SQL. */
export function checkIdentifier(value: string, what: string, allowEmpty = false): string {
  if ((allowEmpty && value === '') || (IDENTIFIER.test(value) && value.length <= 40)) return value;
  throw new InvalidConfigError(
    `invalid ${what} ${JSON.stringify(value)}: use letters, digits and _ (at most 40 characters, not starting with a digit)`,
  );
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** What both SQL registries take from their options, checked and defaulted. */
export interface SqlCommon<D extends SqlTarget['dialect']> {
  target: Extract<SqlTarget, { dialect: D }>;
  tablePrefix: string;
  eventRetention: number;
}

/**
 * Reads the options both SQL registries share, and checks that the URL is one of `dialect`'s
 * (sqlRegistry() picks the registry class from the URL; a class given the other's URL is a
 * configuration error).
 */
export function sqlCommon<D extends SqlTarget['dialect']>(
  options: SqlRegistryOptions,
  dialect: D,
): SqlCommon<D> {
  const target = parseSqlUrl(options.url, options.env);
  if (target.dialect !== dialect) {
    throw new InvalidConfigError(
      `the ${dialect} registry was given a ${target.dialect} URL: use sqlRegistry({ url }) to pick the registry from the URL`,
    );
  }
  return {
    target: target as Extract<SqlTarget, { dialect: D }>,
    tablePrefix: checkIdentifier(options.tablePrefix ?? DEFAULT_TABLE_PREFIX, 'table prefix', true),
    eventRetention: options.eventRetention ?? DEFAULT_EVENT_RETENTION,
  };
}
