import type { InstanceRecord } from '@sidecar/core';
import { BaseRegistry, StoredRecord, throwIfAborted } from '@sidecar/core/plugin-kit';
import {
  checkIdentifier,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_QUERY_TIMEOUT,
  DEFAULT_SCHEMA,
  type SqlRegistryOptions,
  sqlCommon,
} from '../options.js';
import { escapeLike, literalPrefix, recordText } from '../sql-text.js';
import { PgPool } from './pg-pool.js';
import { type PgQueries, pgQueries } from './pg-queries.js';
import { type PgNames, pgNames } from './pg-schema.js';
import { PgWatch } from './pg-watch.js';

type StoredRow = { record: string; expires_at: string };

/** pg's messages when a query got no reply within `query_timeout`, or a connection none within its timeout. */
const QUERY_TIMEOUT =
  /Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout/i;

/**
 * The SQL registry on PostgreSQL (peers on many machines), through a pg.Pool. Each mutation is
 * one statement whose announcement (an events row and a pg_notify, delivered on commit) happens
 * in the same transaction; watchers LISTEN on a dedicated connection that is re-established
 * after a restart (see PgWatch).
 *
 * @example
 * ```ts
 * const registry = new PostgresRegistry({ url: 'postgres://app@db.internal/sidecar' });
 * await registry.start();
 * const billing = await registry.lookup('billing');
 * ```
 */
export class PostgresRegistry extends BaseRegistry {
  readonly reach = 'network' as const;
  /** Which database engine is in use. */
  readonly dialect = 'postgres' as const;
  /** The PostgreSQL URL with its password masked. */
  readonly location: string;
  /** The server's host from the URL (`?host=` wins, as in pg), undefined for a socket path (see Registry.host). */
  readonly host: string | undefined;
  readonly #names: PgNames;
  readonly #q: PgQueries;
  readonly #pool: PgPool;
  readonly #eventRetention: number;
  #watch: PgWatch | undefined;
  #lastPrune = 0;

  constructor(options: SqlRegistryOptions = {}) {
    super(options);
    const { target, tablePrefix, eventRetention } = sqlCommon(options, 'postgres');
    this.location = maskPassword(target.url);
    this.host = pgHost(target.url);
    this.#eventRetention = eventRetention;
    this.#names = pgNames(checkIdentifier(options.schema ?? DEFAULT_SCHEMA, 'schema'), tablePrefix);
    this.#q = pgQueries(this.#names);
    const settings = {
      url: target.url,
      ssl: options.ssl,
      pool: options.pool ?? {},
      connectTimeout: options.pool?.connectionTimeoutMillis ?? DEFAULT_CONNECT_TIMEOUT,
      queryTimeout: options.queryTimeout ?? DEFAULT_QUERY_TIMEOUT,
    };
    this.#pool = new PgPool(settings, this.#names, (error) => this.warn(error));
  }

  protected connect(signal?: AbortSignal): Promise<void> {
    return this.#pool.open(signal);
  }

  protected async disconnect(): Promise<void> {
    await this.unsubscribe();
    await this.#pool.close();
  }

  protected async put(
    record: InstanceRecord,
    ttlMs: number,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    const values = [this.namespace, record.instanceId, record.name, recordText(record), Math.round(ttlMs)];
    const { rows } = await this.#pool.query<{ expires_at: string }>(
      this.#q.put,
      [...values, this.#names.channel],
      signal,
    );
    return rows[0] ? Number(rows[0].expires_at) : undefined;
  }

  protected touch(instanceId: string, ttlMs: number, signal?: AbortSignal): Promise<boolean> {
    const values = [this.namespace, instanceId, Math.round(ttlMs)];
    try {
      return this.#pool.query(this.#q.touch, values, signal).then(touched);
    } catch (err) {
      return Promise.reject(err); // an aborted signal
    }
  }

  protected async remove(instanceId: string, signal?: AbortSignal): Promise<void> {
    await this.#pool.query(this.#q.remove, [this.namespace, instanceId, this.#names.channel], signal);
  }

  protected fetchByName(name: string, signal?: AbortSignal): Promise<unknown[]> {
    try {
      return this.#pool.query<StoredRow>(this.#q.byName, [this.namespace, name], signal).then(stored);
    } catch (err) {
      return Promise.reject(err); // an aborted signal
    }
  }

  protected async fetchAll(pattern: string, signal?: AbortSignal): Promise<unknown[]> {
    const prefix = literalPrefix(pattern);
    const ns = this.namespace;
    return stored(
      prefix === ''
        ? await this.#pool.query<StoredRow>(this.#q.all, [ns], signal)
        : await this.#pool.query<StoredRow>(this.#q.byPrefix, [ns, `${escapeLike(prefix)}%`], signal),
    );
  }

  protected async sweep(signal?: AbortSignal): Promise<void> {
    // Concurrent sweepers block on the same rows; each row is returned (and announced) by one.
    await this.#pool.query(this.#q.sweep, [this.namespace, this.#names.channel], signal);
    const retention = this.#eventRetention;
    // When to prune is this process's business (a rate limit); what to prune is by the database's clock.
    const now = Date.now();
    if (now - this.#lastPrune > retention / 4) {
      this.#lastPrune = now;
      await this.#pool.query(this.#q.prune, [this.namespace, retention], signal);
    }
  }

  protected async subscribe(deliver: (change: unknown) => void, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal); // the watch outlives the call: the signal governs its start only
    if (this.#watch) return;
    const host = {
      namespace: this.namespace,
      warn: this.warn.bind(this),
      invalidate: () => this.invalidateCache(),
    };
    const watch = new PgWatch(
      {
        host,
        queries: this.#q,
        run: (query, values) => this.#pool.query(query, values),
        snapshot: () => this.fetchAll('*'),
        config: this.#pool.config,
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

  protected async unsubscribe(): Promise<void> {
    const watch = this.#watch;
    this.#watch = undefined;
    await watch?.stop();
  }

  protected override localAddresses(): string[] {
    const out = this.#pool.localAddresses();
    const listening = this.#watch?.localAddress();
    if (listening) out.push(listening);
    return out.filter((a) => a !== '');
  }

  /** A fresh pool for new queries, and a fresh LISTEN connection (a dead path never drains). */
  protected override reconnect(): void {
    if (!this.#pool.isOpen) return;
    this.#pool.reconnect();
    this.#watch?.reconnect();
  }

  protected override isTimeout(err: unknown): boolean {
    return err instanceof Error && QUERY_TIMEOUT.test(err.message);
  }
}

/** Rows as the raw values BaseRegistry decodes: each record's JSON text with its expiry column. */
function touched(result: { rowCount: number | null }): boolean {
  return (result.rowCount ?? 0) > 0;
}

function stored(result: { rows: StoredRow[] }): StoredRecord[] {
  return result.rows.map((r) => new StoredRecord(r.record, r.expires_at));
}

function maskPassword(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

/** The host a PostgreSQL URL names (`?host=` first, as pg reads it); undefined for a socket directory. */
function pgHost(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    const host =
      parsed.searchParams.get('host') ?? decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, '$1');
    return host === '' || host.startsWith('/') ? undefined : host;
  } catch {
    return undefined;
  }
}
