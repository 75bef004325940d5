import { CONFIG, type RegistryPlugin, resolve } from '@sidecar/core';
import { parseSqlUrl, type SqlRegistryOptions } from './options.js';
import { PostgresRegistry } from './postgres/pg-registry.js';
import { SqliteRegistry } from './sqlite/sqlite-registry.js';

/** A registry on SQL: a SqliteRegistry or a PostgresRegistry, as the URL says. */
export type SqlRegistry = SqliteRegistry | PostgresRegistry;

/**
 * Makes the registry `options.url` names: a SQLite file (`sqlite:PATH`, or no URL: the
 * per-user default file) or PostgreSQL (`postgres://...`). Throws InvalidConfigError for any
 * other URL.
 *
 * @example
 * ```ts
 * const registry = createSqlRegistry({ url: 'sqlite:/tmp/registry.db' });
 * await registry.start();
 * ```
 */
export function createSqlRegistry(options: SqlRegistryOptions = {}): SqlRegistry {
  return parseSqlUrl(options.url, options.env).dialect === 'sqlite'
    ? new SqliteRegistry(options)
    : new PostgresRegistry(options);
}

/**
 * `new SqlRegistry(options)` as before the two registries had classes of their own: the same
 * as createSqlRegistry(options) (a SqliteRegistry or a PostgresRegistry).
 *
 * @deprecated use createSqlRegistry(), or SqliteRegistry / PostgresRegistry directly.
 */
export const SqlRegistry = Object.defineProperty(
  function SqlRegistry(options?: SqlRegistryOptions): SqlRegistry {
    return createSqlRegistry(options);
  },
  Symbol.hasInstance, // `registry instanceof SqlRegistry` keeps working
  { value: (value: unknown) => value instanceof SqliteRegistry || value instanceof PostgresRegistry },
) as unknown as new (
  options?: SqlRegistryOptions,
) => SqlRegistry;

/**
 * The SQL registry plugin: `registry: 'sql'` (SQLite at defaultSqlitePath()), `'sqlite:PATH'` or
 * `'postgres://...'` in createSidecar, which calls this factory with `{ url }`.
 *
 * @example
 * ```ts
 * createSidecar({ name: 'billing', registry: sqlRegistry({ url: 'postgres://app@db/sidecar', pool: { max: 4 } }) });
 * ```
 */
export function sqlRegistry(options: SqlRegistryOptions = {}): RegistryPlugin {
  parseSqlUrl(options.url, options.env); // a bad URL fails here, at configuration time
  return {
    kind: 'registry',
    name: 'sql',
    create(container) {
      const config = resolve(container, CONFIG);
      return createSqlRegistry({
        ...options,
        namespace: options.namespace ?? config.namespace,
        env: options.env ?? config.env,
      });
    },
  };
}
