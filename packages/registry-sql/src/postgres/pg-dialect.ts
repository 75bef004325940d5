import type { ConnectionOptions } from 'node:tls';
import { type InstanceRecord, RegistryUnavailableError } from '@sidecar/core';
import pg from 'pg';
import {
  type DialectHost,
  escapeLike,
  type RawChange,
  recordText,
  rowValue,
  type SqlDialect,
} from '../dialect.js';
import { type PgQueries, type PgQuery, pgQueries } from './pg-queries.js';
import { migratePostgres, type PgNames, pgNames } from './pg-schema.js';
import { PgWatch } from './pg-watch.js';

/** Settings of the PostgreSQL dialect (defaults are applied by SqlRegistry). */
export interface PgDialectSettings {
  url: string;
  schema: string;
  tablePrefix: string;
  ssl: boolean | ConnectionOptions | undefined;
  pool: Omit<pg.PoolConfig, 'connectionString' | 'ssl'>;
  connectTimeout: number;
  eventRetention: number;
}

type StoredRow = { record: string; expires_at: string };

/**
 * PostgreSQL through a pg.Pool. Each mutation is one statement whose announcement (an events
 * row and a pg_notify, delivered on commit) happens in the same transaction; watchers LISTEN on
 * a dedicated connection that is re-established after a restart (see PgWatch).
 */
export class PostgresDialect implements SqlDialect {
  readonly kind = 'postgres' as const;
  readonly reach = 'network' as const;
  readonly #host: DialectHost;
  readonly #settings: PgDialectSettings;
  readonly #names: PgNames;
  readonly #q: PgQueries;
  #pool: pg.Pool | undefined;
  #watch: PgWatch | undefined;
  #lastPrune = 0;

  constructor(host: DialectHost, settings: PgDialectSettings) {
    this.#host = host;
    this.#settings = settings;
    this.#names = pgNames(settings.schema, settings.tablePrefix);
    this.#q = pgQueries(this.#names);
  }

  /** The client configuration shared by the pool and the LISTEN connection. */
  get #config(): pg.PoolConfig {
    const { url, ssl, pool, connectTimeout } = this.#settings;
    return {
      connectionTimeoutMillis: connectTimeout,
      keepAlive: true,
      ...pool,
      connectionString: url,
      ...(ssl !== undefined ? { ssl } : {}),
    };
  }

  async open(): Promise<void> {
    if (this.#pool) return;
    const pool = new pg.Pool(this.#config);
    // An idle client whose connection drops (a server restart) is reported here, never thrown.
    pool.on('error', (err) =>
      this.#host.warn(this.#unavailable('an idle PostgreSQL connection failed', err)),
    );
    try {
      await migratePostgres(pool, this.#names);
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    this.#pool = pool;
  }

  async close(): Promise<void> {
    await this.unsubscribe();
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end().catch(() => {});
  }

  async put(record: InstanceRecord): Promise<void> {
    const { namespace } = this.#host;
    await this.#query(this.#q.put, [
      namespace,
      record.instanceId,
      record.name,
      recordText(record),
      record.expiresAt,
      Date.now(),
      this.#names.channel,
    ]);
  }

  async touch(instanceId: string, expiresAt: number): Promise<boolean> {
    const result = await this.#query(this.#q.touch, [
      this.#host.namespace,
      instanceId,
      expiresAt,
      Date.now(),
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async remove(instanceId: string): Promise<void> {
    await this.#query(this.#q.remove, [this.#host.namespace, instanceId, this.#names.channel]);
  }

  async fetchByName(name: string, now: number): Promise<unknown[]> {
    const { rows } = await this.#query<StoredRow>(this.#q.byName, [this.#host.namespace, name, now]);
    return rows.map((r) => rowValue(r.record, r.expires_at));
  }

  async fetchAll(prefix: string, now: number): Promise<unknown[]> {
    const ns = this.#host.namespace;
    const { rows } =
      prefix === ''
        ? await this.#query<StoredRow>(this.#q.all, [ns, now])
        : await this.#query<StoredRow>(this.#q.byPrefix, [ns, now, `${escapeLike(prefix)}%`]);
    return rows.map((r) => rowValue(r.record, r.expires_at));
  }

  async sweep(now: number): Promise<void> {
    // Concurrent sweepers block on the same rows; each row is returned (and announced) by one.
    await this.#query(this.#q.sweep, [this.#host.namespace, now, this.#names.channel]);
    const retention = this.#settings.eventRetention;
    if (now - this.#lastPrune > retention / 4) {
      this.#lastPrune = now;
      await this.#query(this.#q.prune, [this.#host.namespace, now - retention]);
    }
  }

  async subscribe(deliver: (change: RawChange) => void): Promise<void> {
    if (this.#watch) return;
    const watch = new PgWatch(
      {
        host: this.#host,
        queries: this.#q,
        run: (query, values) => this.#query(query, values),
        snapshot: () => this.fetchAll('', Date.now()),
        config: this.#config,
        channel: this.#names.channel,
      },
      deliver,
    );
    this.#watch = watch;
    try {
      await watch.start();
    } catch (err) {
      this.#watch = undefined;
      await watch.stop();
      throw err;
    }
  }

  async unsubscribe(): Promise<void> {
    const watch = this.#watch;
    this.#watch = undefined;
    await watch?.stop();
  }

  // ---- internals ---------------------------------------------------------------------------

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    query: PgQuery,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const pool = this.#pool;
    if (!pool) throw new RegistryUnavailableError('the PostgreSQL registry is closed');
    return pool.query<R>({ name: query.name, text: query.text, values });
  }

  #unavailable(what: string, err: unknown): RegistryUnavailableError {
    const detail = err instanceof Error ? err.message : String(err);
    return new RegistryUnavailableError(`${what}: ${detail}`, { cause: err });
  }
}
