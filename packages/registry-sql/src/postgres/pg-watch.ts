import { InvalidRecordError, RegistryUnavailableError, type SidecarError } from '@sidecar/core';
import { isChangeType, type RawRegistryChange, StoredRecord } from '@sidecar/core/plugin-kit';
import type pg from 'pg';
import { PgListener } from './pg-listener.js';
import type { PgQueries, PgQuery } from './pg-queries.js';

/** How far before the last change heard a replay starts, in ms (covers commits that finished late). */
const REPLAY_MARGIN = 5000;
/** How many delivered event ids are remembered to skip duplicates in a replay. */
const MAX_SEEN = 20_000;

type Run = <R extends pg.QueryResultRow>(query: PgQuery, values: unknown[]) => Promise<pg.QueryResult<R>>;

/** What the watch may ask of the registry that owns it. */
export interface WatchHost {
  /** The namespace whose changes are delivered. */
  readonly namespace: string;
  /** Reports a non-fatal problem as a `warning` event. */
  warn(error: SidecarError): void;
  /** Drops cached lookups (after a reconnect, changes may have been missed). */
  invalidate(): void;
}

/** What the watch needs from the registry. */
export interface PgWatchDeps {
  host: WatchHost;
  queries: PgQueries;
  run: Run;
  /** Raw values of the live records of the namespace (for the snapshot after a reconnect). */
  snapshot(): Promise<unknown[]>;
  config: pg.ClientConfig;
  channel: string;
}

/**
 * Delivers the changes of one namespace: NOTIFY payloads in arrival order (large ones are read
 * from the events table). After the LISTEN connection was lost and re-established, it replays
 * the events table from shortly before the last change it heard (skipping ids already
 * delivered), then reports every live record as present, so nothing that happened during the
 * outage is missed; BaseRegistry drops what it has already seen.
 */
export class PgWatch {
  readonly #deps: PgWatchDeps;
  readonly #deliver: (change: RawRegistryChange) => void;
  readonly #listener: PgListener;
  readonly #seen = new Map<number, true>();
  #heardAt = 0;
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(deps: PgWatchDeps, deliver: (change: RawRegistryChange) => void) {
    this.#deps = deps;
    this.#deliver = deliver;
    this.#listener = new PgListener(deps.config, deps.channel, {
      payload: (text) => this.#enqueue(() => this.#handle(text)),
      reconnected: () => this.#enqueue(() => this.#resync()),
      warn: (error) => deps.host.warn(error),
    });
  }

  async start(): Promise<void> {
    const { rows } = await this.#deps.run<{ now: string }>(this.#deps.queries.clock, []);
    this.#heardAt = Number(rows[0]?.now ?? 0);
    await this.#listener.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#listener.stop();
  }

  /** The LISTEN connection's local address, if connected. */
  localAddress(): string | undefined {
    return this.#listener.localAddress();
  }

  /** Drops the LISTEN connection; it is made again, and missed changes replayed. */
  reconnect(): void {
    this.#listener.reset();
  }

  #enqueue(step: () => Promise<void>): void {
    this.#queue = this.#queue.then(step).catch((err: unknown) => {
      const detail = err instanceof Error ? err.message : String(err);
      this.#deps.host.warn(
        new RegistryUnavailableError(`reading registry changes failed: ${detail}`, { cause: err }),
      );
    });
  }

  async #handle(text: string): Promise<void> {
    let note: Record<string, unknown>;
    try {
      note = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.#deps.host.warn(new InvalidRecordError(`ignored a malformed notification: ${text.slice(0, 200)}`));
      return;
    }
    if (note.n !== this.#deps.host.namespace || typeof note.i !== 'number') return;
    if (typeof note.c === 'number') this.#heardAt = Math.max(this.#heardAt, note.c);
    if (note.t === undefined) {
      const { rows } = await this.#deps.run<{ payload: string }>(this.#deps.queries.event, [note.i]);
      if (!rows[0]) return; // pruned: too old to matter
      this.#emit(note.i, rows[0].payload);
      return;
    }
    this.#emit(note.i, note);
  }

  async #resync(): Promise<void> {
    const { host, queries, run } = this.#deps;
    const since = this.#heardAt - REPLAY_MARGIN;
    const { rows } = await run<{ id: string; created_at: string; payload: string }>(queries.replay, [
      host.namespace,
      since,
    ]);
    for (const row of rows) {
      this.#heardAt = Math.max(this.#heardAt, Number(row.created_at));
      this.#emit(Number(row.id), row.payload);
    }
    for (const record of await this.#deps.snapshot()) this.#send({ type: 'join', record });
    host.invalidate();
  }

  /** Delivers one announced change once (by event id). */
  #emit(id: number, payload: string | Record<string, unknown>): void {
    if (this.#seen.has(id)) return;
    this.#seen.set(id, true);
    if (this.#seen.size > MAX_SEEN) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    let change: Record<string, unknown>;
    try {
      change = typeof payload === 'string' ? (JSON.parse(payload) as Record<string, unknown>) : payload;
    } catch {
      this.#deps.host.warn(
        new InvalidRecordError(`ignored a malformed registry change: ${String(payload).slice(0, 200)}`),
      );
      return;
    }
    if (!isChangeType(change.t)) {
      this.#deps.host.warn(
        new InvalidRecordError(`ignored a registry change of unknown type ${String(change.t)}`),
      );
      return;
    }
    this.#send({ type: change.t, record: new StoredRecord(change.r, change.e) });
  }

  #send(change: RawRegistryChange): void {
    if (!this.#stopped) this.#deliver(change);
  }
}
