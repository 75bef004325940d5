import { isChangeType, StoredRecord } from '@sidecar/core/plugin-kit';
import { type SqliteConnection, SqliteFile, type SqliteFileSettings } from './sqlite-file.js';
import { EVENT_BATCH, type EventRow } from './sqlite-statements.js';

/** Largest number of event batches read per poll (bounds the time one poll may take). */
const MAX_BATCHES_PER_POLL = 40;

/** Where a feed hands what it reads (BaseRegistry's shared feed). */
export interface SqliteFeedSink {
  deliver(change: unknown): void;
  reset(): void;
  failed(err: unknown): void;
}

/**
 * The changes of one namespace of a SQLite file, for every registry of the process that watches
 * it: one connection of its own that polls `PRAGMA data_version` (which moves on every commit of
 * any OTHER connection, so every registry's writes are seen, this process's too) and reads only
 * the events after the last one seen. A replaced file is opened again (changes in between are
 * reported with `reset`).
 */
export class SqliteFeed {
  readonly #file: SqliteFile;
  readonly #namespace: string;
  readonly #sink: SqliteFeedSink;
  #timer: NodeJS.Timeout | undefined;
  #lastEventId = 0;
  #dataVersion = -1;
  #failing = false;

  constructor(settings: SqliteFileSettings, namespace: string, sink: SqliteFeedSink) {
    this.#namespace = namespace;
    this.#sink = sink;
    this.#file = new SqliteFile(settings, () => {
      this.#lastEventId = 0;
      this.#dataVersion = -1;
      sink.reset();
    });
  }

  /** Opens the connection and starts polling from the last event now in the file. */
  open(pollInterval: number, signal?: AbortSignal): void {
    this.#file.open(signal);
    this.#file.use((c) => {
      this.#lastEventId = c.s.lastEvent.get() as number;
      this.#dataVersion = c.s.dataVersion.get() as number;
    });
    this.#timer = setInterval(() => this.#poll(), pollInterval);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#file.close();
  }

  #poll(): void {
    try {
      const current = this.#file.fresh();
      if (current) {
        const version = current.s.dataVersion.get() as number;
        if (version !== this.#dataVersion) {
          this.#dataVersion = version;
          this.#read(current);
        }
      }
      this.#failing = false;
    } catch (err) {
      if (this.#failing) return; // one warning per outage, not one per poll
      this.#failing = true;
      this.#sink.failed(err);
    }
  }

  #read(conn: SqliteConnection): void {
    const ns = this.#namespace;
    for (let batch = 0; batch < MAX_BATCHES_PER_POLL; batch++) {
      const rows = conn.s.events.all(this.#lastEventId) as EventRow[];
      for (const [id, namespace, type, text, expiresAt] of rows) {
        this.#lastEventId = id;
        if (namespace === ns && isChangeType(type)) {
          this.#sink.deliver({ type, record: new StoredRecord(text, expiresAt) });
        }
      }
      if (rows.length < EVENT_BATCH) return;
    }
    // More remain: read them on the next poll.
    this.#dataVersion = -1;
  }
}
