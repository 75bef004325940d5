import type { Socket } from 'node:net';
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
import { DEFAULT_PG_KEEPALIVE } from '../options.js';
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
  queryTimeout: number;
  eventRetention: number;
}

type StoredRow = { record: string; expires_at: string };

/** pg's messages when a query got no reply within `query_timeout`, or a connection none within its timeout. */
const QUERY_TIMEOUT =
  /Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout/i;
/** SQLSTATEs that say the registry's schema is gone: undefined table, function, schema. */
const SCHEMA_GONE = new Set(['42P01', '42883', '3F000']);

/** The sockets of a pool's clients (pg keeps them in `_clients`; read defensively). */
function poolSockets(pool: pg.Pool | undefined): Socket[] {
  const clients = (pool as unknown as { _clients?: Array<{ connection?: { stream?: Socket } }> } | undefined)
    ?._clients;
  return (clients ?? []).flatMap((c) => (c.connection?.stream ? [c.connection.stream] : []));
}

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
  #migrating: Promise<void> | undefined;

  constructor(host: DialectHost, settings: PgDialectSettings) {
    this.#host = host;
    this.#settings = settings;
    this.#names = pgNames(settings.schema, settings.tablePrefix);
    this.#q = pgQueries(this.#names);
  }

  /** The client configuration shared by the pool and the LISTEN connection. */
  get #config(): pg.PoolConfig {
    const { url, ssl, pool, connectTimeout, queryTimeout } = this.#settings;
    return {
      connectionTimeoutMillis: connectTimeout,
      query_timeout: queryTimeout,
      keepAlive: true,
      keepAliveInitialDelayMillis: DEFAULT_PG_KEEPALIVE,
      ...pool,
      connectionString: url,
      ...(ssl !== undefined ? { ssl } : {}),
    };
  }

  /** A new pool; an idle client whose connection drops (a server restart) is reported, never thrown. */
  #newPool(): pg.Pool {
    const pool = new pg.Pool(this.#config);
    pool.on('error', (err) =>
      this.#host.warn(this.#unavailable('an idle PostgreSQL connection failed', err)),
    );
    return pool;
  }

  async open(): Promise<void> {
    if (this.#pool) return;
    const pool = this.#newPool();
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

  async put(record: InstanceRecord, ttlMs: number): Promise<number | undefined> {
    const { namespace } = this.#host;
    const { rows } = await this.#query<{ expires_at: string }>(this.#q.put, [
      namespace,
      record.instanceId,
      record.name,
      recordText(record),
      Math.round(ttlMs),
      this.#names.channel,
    ]);
    return rows[0] ? Number(rows[0].expires_at) : undefined;
  }

  async touch(instanceId: string, ttlMs: number): Promise<boolean> {
    const result = await this.#query(this.#q.touch, [this.#host.namespace, instanceId, Math.round(ttlMs)]);
    return (result.rowCount ?? 0) > 0;
  }

  async remove(instanceId: string): Promise<void> {
    await this.#query(this.#q.remove, [this.#host.namespace, instanceId, this.#names.channel]);
  }

  async fetchByName(name: string): Promise<unknown[]> {
    const { rows } = await this.#query<StoredRow>(this.#q.byName, [this.#host.namespace, name]);
    return rows.map((r) => rowValue(r.record, r.expires_at));
  }

  async fetchAll(prefix: string): Promise<unknown[]> {
    const ns = this.#host.namespace;
    const { rows } =
      prefix === ''
        ? await this.#query<StoredRow>(this.#q.all, [ns])
        : await this.#query<StoredRow>(this.#q.byPrefix, [ns, `${escapeLike(prefix)}%`]);
    return rows.map((r) => rowValue(r.record, r.expires_at));
  }

  async sweep(): Promise<void> {
    // Concurrent sweepers block on the same rows; each row is returned (and announced) by one.
    await this.#query(this.#q.sweep, [this.#host.namespace, this.#names.channel]);
    const retention = this.#settings.eventRetention;
    // When to prune is this process's business (a rate limit); what to prune is by the database's clock.
    const now = Date.now();
    if (now - this.#lastPrune > retention / 4) {
      this.#lastPrune = now;
      await this.#query(this.#q.prune, [this.#host.namespace, retention]);
    }
  }

  async subscribe(deliver: (change: RawChange) => void): Promise<void> {
    if (this.#watch) return;
    const watch = new PgWatch(
      {
        host: this.#host,
        queries: this.#q,
        run: (query, values) => this.#query(query, values),
        snapshot: () => this.fetchAll(''),
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

  localAddresses(): string[] {
    const sockets = poolSockets(this.#pool);
    const out = sockets.map((s) => s.localAddress ?? '');
    const listening = this.#watch?.localAddress();
    if (listening) out.push(listening);
    return out.filter((a) => a !== '');
  }

  /** A fresh pool for new queries; the old one's sockets are destroyed (a dead path never drains). */
  reconnect(): void {
    const old = this.#pool;
    if (!old) return;
    this.#pool = this.#newPool();
    for (const socket of poolSockets(old)) socket.destroy();
    old.end().catch(() => {});
    this.#watch?.reconnect();
  }

  isTimeout(err: unknown): boolean {
    return err instanceof Error && QUERY_TIMEOUT.test(err.message);
  }

  // ---- internals ---------------------------------------------------------------------------

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    query: PgQuery,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const pool = this.#pool;
    if (!pool) throw new RegistryUnavailableError('the PostgreSQL registry is closed');
    try {
      return await pool.query<R>({ name: query.name, text: query.text, values });
    } catch (err) {
      if (!SCHEMA_GONE.has((err as { code?: string }).code ?? '')) throw err;
      // The tables are gone (a wiped and restarted server): create them again, then retry once.
      await this.#remigrate(pool, err);
      return (this.#pool ?? pool).query<R>({ name: query.name, text: query.text, values });
    }
  }

  /** Runs the migrations again, once for any number of queries that found the schema gone. */
  async #remigrate(pool: pg.Pool, cause: unknown): Promise<void> {
    if (!this.#migrating) {
      this.#migrating = migratePostgres(pool, this.#names)
        .then(() => {
          const detail = cause instanceof Error ? cause.message : String(cause);
          this.#host.warn(
            this.#unavailable(
              `the registry's tables were gone (${detail}; a wiped database?): created them again`,
              cause,
            ),
          );
        })
        .finally(() => {
          this.#migrating = undefined;
        });
    }
    await this.#migrating;
  }

  #unavailable(what: string, err: unknown): RegistryUnavailableError {
    const detail = err instanceof Error ? err.message : String(err);
    return new RegistryUnavailableError(`${what}: ${detail}`, { cause: err });
  }
}
