import type { RecordInput, Registry } from '../contracts/registry.js';
import type { Logger } from '../contracts/services.js';
import type { Endpoint, JsonValue } from '../records.js';

/** What `updateRecord()` may change. */
export interface RecordPatch {
  methods?: string[];
  metadata?: { [key: string]: JsonValue };
  endpoints?: Endpoint[];
}

/**
 * This peer's record as published in the registry: changes are applied at once and, while the
 * peer is registered, written to the registry one after the other (never two writes racing).
 */
export class OwnRecord {
  #record: RecordInput;
  #writes: Promise<unknown> = Promise.resolve();
  #registry: Registry | undefined;
  #ttl = 0;
  readonly #logger: Logger;

  constructor(record: RecordInput, logger: Logger) {
    this.#record = record;
    this.#logger = logger;
  }

  /** The record as it stands. */
  get current(): RecordInput {
    return this.#record;
  }

  /** From now on, changes are written to `registry` with `ttl`; `undefined` stops the writes. */
  publishTo(registry: Registry | undefined, ttl = 0): void {
    this.#registry = registry;
    this.#ttl = ttl;
  }

  /** Applies `patch`, and writes the record when published; resolves once written (a failed write is a warning). */
  update(patch: RecordPatch): Promise<void> {
    this.#record = { ...this.#record, ...patch };
    const write = this.#writes.then(async () => {
      await this.#registry?.register(this.#record, this.#ttl).catch((err: unknown) => this.#logger.warn(err));
    });
    this.#writes = write;
    return write;
  }
}
