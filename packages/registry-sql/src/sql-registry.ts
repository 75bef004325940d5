import {
  BaseRegistry,
  type InstanceRecord,
  provide,
  REGISTRY,
  type RegistryPlugin,
  type RegistryReach,
} from '@sidecar/core';
import { type DialectHost, literalPrefix, type SqlDialect } from './dialect.js';
import {
  checkIdentifier,
  DEFAULT_BUSY_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_EVENT_RETENTION,
  DEFAULT_POLL_INTERVAL,
  DEFAULT_QUERY_TIMEOUT,
  DEFAULT_SCHEMA,
  DEFAULT_TABLE_PREFIX,
  parseSqlUrl,
  type SqlRegistryOptions,
  type SqlTarget,
} from './options.js';
import { PostgresDialect } from './postgres/pg-dialect.js';
import { SqliteDialect } from './sqlite/sqlite-dialect.js';

/**
 * A registry on SQL: a SQLite file (peers on one machine; the zero-configuration default) or
 * PostgreSQL (peers on many machines). Records live in `<prefix>instances`, one row per
 * running instance; every join, update, leave and timeout is announced in the transaction that
 * made it (SQLite: an events table that watchers poll cheaply; PostgreSQL: LISTEN/NOTIFY).
 *
 * @example
 * ```ts
 * const registry = new SqlRegistry({ url: 'sqlite:/tmp/registry.db' });
 * await registry.start();
 * const billing = await registry.lookup('billing');
 * ```
 */
export class SqlRegistry extends BaseRegistry {
  readonly reach: RegistryReach;
  /** Which database engine is in use. */
  readonly dialect: 'sqlite' | 'postgres';
  /** The SQLite file, or the PostgreSQL URL with its password masked. */
  readonly location: string;
  readonly #dialect: SqlDialect;

  constructor(options: SqlRegistryOptions = {}) {
    super(options);
    const target = parseSqlUrl(options.url, options.env);
    const host: DialectHost = {
      namespace: this.namespace,
      warn: (error) => this.warn(error),
      invalidate: () => this.invalidateCache(),
    };
    this.#dialect = makeDialect(target, host, options);
    this.reach = this.#dialect.reach;
    this.dialect = this.#dialect.kind;
    this.location = target.dialect === 'sqlite' ? target.path : maskPassword(target.url);
  }

  protected connect(): Promise<void> {
    return this.#dialect.open();
  }
  protected disconnect(): Promise<void> {
    return this.#dialect.close();
  }
  protected put(record: InstanceRecord, ttlMs: number): Promise<number | undefined> {
    return this.#dialect.put(record, ttlMs);
  }
  protected touch(instanceId: string, ttlMs: number): Promise<boolean> {
    return this.#dialect.touch(instanceId, ttlMs);
  }
  protected remove(instanceId: string): Promise<void> {
    return this.#dialect.remove(instanceId);
  }
  protected fetchByName(name: string): Promise<unknown[]> {
    return this.#dialect.fetchByName(name);
  }
  protected fetchAll(pattern: string): Promise<unknown[]> {
    return this.#dialect.fetchAll(literalPrefix(pattern));
  }
  protected sweep(): Promise<void> {
    return this.#dialect.sweep();
  }
  protected subscribe(deliver: (change: unknown) => void): Promise<void> {
    return this.#dialect.subscribe(deliver);
  }
  protected unsubscribe(): Promise<void> {
    return this.#dialect.unsubscribe();
  }
  protected override localAddresses(): string[] {
    return this.#dialect.localAddresses?.() ?? [];
  }
  protected override reconnect(): void {
    this.#dialect.reconnect?.();
  }
  protected override isTimeout(err: unknown): boolean {
    return this.#dialect.isTimeout?.(err) ?? false;
  }
}

function makeDialect(target: SqlTarget, host: DialectHost, options: SqlRegistryOptions): SqlDialect {
  const tablePrefix = checkIdentifier(options.tablePrefix ?? DEFAULT_TABLE_PREFIX, 'table prefix', true);
  const eventRetention = options.eventRetention ?? DEFAULT_EVENT_RETENTION;
  if (target.dialect === 'sqlite') {
    return new SqliteDialect(host, {
      path: target.path,
      tablePrefix,
      pollInterval: options.pollInterval ?? DEFAULT_POLL_INTERVAL,
      busyTimeout: options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT,
      eventRetention,
    });
  }
  return new PostgresDialect(host, {
    url: target.url,
    schema: checkIdentifier(options.schema ?? DEFAULT_SCHEMA, 'schema'),
    tablePrefix,
    ssl: options.ssl,
    pool: options.pool ?? {},
    connectTimeout: options.pool?.connectionTimeoutMillis ?? DEFAULT_CONNECT_TIMEOUT,
    queryTimeout: options.queryTimeout ?? DEFAULT_QUERY_TIMEOUT,
    eventRetention,
  });
}

function maskPassword(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

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
  const target = parseSqlUrl(options.url, options.env); // a bad URL fails here, at configuration time
  const reach: RegistryReach = target.dialect === 'sqlite' ? 'machine' : 'network';
  return {
    kind: 'registry',
    name: 'sql',
    reach,
    register(container, context) {
      provide(container, REGISTRY, {
        useFactory: () =>
          new SqlRegistry({
            ...options,
            namespace: options.namespace ?? context.namespace,
            env: options.env ?? context.env,
          }),
      });
    },
  };
}
