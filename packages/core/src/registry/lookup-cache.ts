import type { InstanceRecord } from '../records.js';

/** One cached lookup. */
export interface CacheEntry {
  records: InstanceRecord[];
  fetchedAt: number;
}

/**
 * The lookup cache: name -> last records seen, bounded to `max` names. The least recently used
 * name goes first, so looking up ever new names (300,000 of them) keeps memory flat.
 */
export class LookupCache {
  readonly #entries = new Map<string, CacheEntry>();

  constructor(readonly max: number) {}

  /** The entry of `name`, marked as just used. */
  get(name: string): CacheEntry | undefined {
    const entry = this.#entries.get(name);
    if (entry) {
      this.#entries.delete(name);
      this.#entries.set(name, entry);
    }
    return entry;
  }

  /** Stores an entry, dropping the least recently used names beyond the bound. */
  set(name: string, entry: CacheEntry): void {
    this.#entries.delete(name);
    this.#entries.set(name, entry);
    while (this.#entries.size > this.max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(name: string): void {
    this.#entries.delete(name);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
