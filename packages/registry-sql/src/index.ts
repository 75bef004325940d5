/**
 * sidecar registry on SQL: SQLite (embedded, the zero-configuration default) and PostgreSQL.
 *
 * @example
 * ```ts
 * import { createSidecar } from '@sidecar/core';
 * const app = createSidecar({ name: 'billing', registry: 'postgres://app@db.internal/sidecar' });
 * ```
 */
export {
  checkIdentifier,
  DEFAULT_BUSY_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_EVENT_RETENTION,
  DEFAULT_POLL_INTERVAL,
  DEFAULT_SCHEMA,
  DEFAULT_TABLE_PREFIX,
  defaultSqlitePath,
  parseSqlUrl,
  type SqlRegistryOptions,
  type SqlTarget,
} from './options.js';
export { LISTEN_RETRY_MAX, LISTEN_RETRY_MIN } from './postgres/pg-listener.js';
export { PostgresRegistry } from './postgres/pg-registry.js';
export { PG_SCHEMA_VERSION } from './postgres/pg-schema.js';
export { createSqlRegistry, SqlRegistry, sqlRegistry } from './sql-registry.js';
export { SqliteRegistry } from './sqlite/sqlite-registry.js';
export { SQLITE_SCHEMA_VERSION } from './sqlite/sqlite-schema.js';
