import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { RegistryUnavailableError, type SidecarError } from '@sidecar/core';
import { throwIfAborted } from '@sidecar/core/plugin-kit';
import pg from 'pg';
import { DEFAULT_PG_KEEPALIVE } from '../options.js';
import { HotClient } from './pg-hot-client.js';
import type { PgQuery } from './pg-queries.js';
import { migratePostgres, type PgNames } from './pg-schema.js';

/** Settings of the PostgreSQL connections (defaults are applied by PostgresRegistry). */
export interface PgPoolSettings {
  url: string;
  ssl: boolean | ConnectionOptions | undefined;
  pool: Omit<pg.PoolConfig, 'connectionString' | 'ssl'>;
  connectTimeout: number;
  queryTimeout: number;
}

/** SQLSTATEs that say the registry's schema is gone: undefined table, function, schema. */
const SCHEMA_GONE = new Set(['42P01', '42883', '3F000']);

/** The sockets of a pool's clients (pg keeps them in `_clients`; read defensively). */
function poolSockets(pool: pg.Pool | undefined): Socket[] {
  const clients = (pool as unknown as { _clients?: Array<{ connection?: { stream?: Socket } }> } | undefined)
    ?._clients;
  return (clients ?? []).flatMap((c) => (c.connection?.stream ? [c.connection.stream] : []));
}

/**
 * The registry's pg.Pool: opened with the schema migrated, replaced at once by `reconnect()`
 * (a dead path never drains), and able to run every query again once after migrating a schema
 * that vanished (a wiped and restarted server).
 */
export class PgPool {
  readonly #settings: PgPoolSettings;
  readonly #names: PgNames;
  readonly #warn: (error: SidecarError) => void;
  #pool: pg.Pool | undefined;
  /** The pool's connection kept for queries that find it idle (see HotClient), if it can spare one. */
  #hot: HotClient | undefined;
  #migrating: Promise<void> | undefined;

  constructor(settings: PgPoolSettings, names: PgNames, warn: (error: SidecarError) => void) {
    this.#settings = settings;
    this.#names = names;
    this.#warn = warn;
  }

  /** The client configuration shared by the pool and the LISTEN connection. */
  get config(): pg.PoolConfig {
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

  get isOpen(): boolean {
    return this.#pool !== undefined;
  }

  /** Connects and migrates the schema; a no-op when open. */
  async open(signal?: AbortSignal): Promise<void> {
    if (this.#pool) return;
    const pool = this.#newPool();
    try {
      await migratePostgres(pool, this.#names, signal);
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    this.#pool = pool;
    this.#hot = HotClient.fits(pool) ? new HotClient(pool) : undefined;
  }

  /** Ends the pool; never throws. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#hot?.close();
    this.#hot = undefined;
    await pool?.end().catch(() => {});
  }

  /** Local addresses of the pool's connections. */
  localAddresses(): string[] {
    return poolSockets(this.#pool).map((s) => s.localAddress ?? '');
  }

  /** A fresh pool for new queries; the old one's sockets are destroyed. */
  reconnect(): void {
    const old = this.#pool;
    if (!old) return;
    this.#hot?.close();
    this.#pool = this.#newPool();
    this.#hot = HotClient.fits(this.#pool) ? new HotClient(this.#pool) : undefined;
    for (const socket of poolSockets(old)) socket.destroy();
    old.end().catch(() => {});
  }

  /**
   * Runs one named statement (checking the signal first: pg cannot cancel a query in flight).
   * No async wrapper: the driver's promise is returned as it is unless the query fails.
   */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    query: PgQuery,
    values: unknown[],
    signal?: AbortSignal,
  ): Promise<pg.QueryResult<R>> {
    throwIfAborted(signal);
    const pool = this.#pool;
    if (!pool) return Promise.reject(new RegistryUnavailableError('the PostgreSQL registry is closed'));
    const config = { name: query.name, text: query.text, values };
    const running = this.#hot ? this.#hot.query<R>(config) : pool.query<R>(config);
    return running.catch(async (err: unknown) => {
      if (!SCHEMA_GONE.has((err as { code?: string }).code ?? '')) throw err;
      // The tables are gone (a wiped and restarted server): create them again, then retry once.
      await this.#remigrate(pool, err);
      throwIfAborted(signal);
      return (this.#pool ?? pool).query<R>(config);
    });
  }

  /** A new pool; an idle client whose connection drops (a server restart) is reported, never thrown. */
  #newPool(): pg.Pool {
    const pool = new pg.Pool(this.config);
    pool.on('error', (err) => this.#warn(unavailable('an idle PostgreSQL connection failed', err)));
    return pool;
  }

  /** Runs the migrations again, once for any number of queries that found the schema gone. */
  async #remigrate(pool: pg.Pool, cause: unknown): Promise<void> {
    if (!this.#migrating) {
      this.#migrating = migratePostgres(pool, this.#names)
        .then(() => {
          const detail = cause instanceof Error ? cause.message : String(cause);
          this.#warn(
            unavailable(
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
}

function unavailable(what: string, err: unknown): RegistryUnavailableError {
  const detail = err instanceof Error ? err.message : String(err);
  return new RegistryUnavailableError(`${what}: ${detail}`, { cause: err });
}
