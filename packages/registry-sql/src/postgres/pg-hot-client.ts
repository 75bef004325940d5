import type pg from 'pg';

/**
 * One connection of the pool kept checked out for queries that find it idle: a lookup or a
 * heartbeat with nothing else in flight then skips pg.Pool's checkout and release (a promise,
 * an idle timer and queue bookkeeping per query, about 10 us), like a raw pg.Client would.
 * Queries made while it is busy go through the pool as before, so concurrency is unchanged.
 * Not kept when the pool has room for a single connection (it would starve the pool). A
 * connection that fails is given back to the pool destroyed, and another one is taken on the
 * next idle query.
 */
export class HotClient {
  readonly #pool: pg.Pool;
  #client: pg.PoolClient | undefined;
  #taking: Promise<void> | undefined;
  #busy = false;
  #closed = false;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** True when the pool can spare a connection for it. */
  static fits(pool: pg.Pool): boolean {
    return (pool.options.max ?? 10) > 1;
  }

  /**
   * Runs the query on the kept connection if it is there and idle; otherwise through the pool
   * (and, when it is not there, takes one in the background for the next query).
   */
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const client = this.#client;
    if (client === undefined || this.#busy) {
      if (client === undefined) this.#take();
      return this.#pool.query<R>(config);
    }
    this.#busy = true;
    return client.query<R>(config).then(
      (result) => {
        this.#busy = false;
        return result;
      },
      (err: unknown) => {
        this.#busy = false;
        throw err;
      },
    );
  }

  /** Gives the connection back; idempotent. Before the pool's end() (which waits for it). */
  close(): void {
    this.#closed = true;
    this.#drop(undefined);
  }

  #take(): void {
    if (this.#taking || this.#closed) return;
    this.#taking = this.#pool
      .connect()
      .then((client) => {
        if (this.#closed) return client.release();
        // Only while it is the kept one: once given back, the pool handles its failures.
        client.on('error', (err) => this.#client === client && this.#drop(err));
        client.on('end', () => this.#client === client && this.#drop(new Error('connection ended')));
        this.#client = client;
      })
      .catch(() => {}) // the pool's own queries report the outage
      .finally(() => {
        this.#taking = undefined;
      });
  }

  #drop(err: Error | undefined): void {
    const client = this.#client;
    this.#client = undefined;
    this.#busy = false;
    try {
      client?.release(err ?? false);
    } catch {
      // released already
    }
  }
}
