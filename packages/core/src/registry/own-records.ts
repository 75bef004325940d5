import type { RecordInput } from '../contracts/registry.js';

/** A record this registry registered and keeps alive, with its lifetime. */
interface OwnRecord {
  input: RecordInput;
  ttl: number;
  /** The last write of this content failed: the store may hold an older one (or none). */
  unwritten: boolean;
}

/** How the keeper reaches the store (the registry's own hooks, unguarded). */
export interface OwnRecordStore {
  /** Extends a record's life to `ttl` from now by the store's clock; false if it is gone. */
  touch(instanceId: string, ttl: number): Promise<boolean>;
  /** Writes the full record, living `ttl` from now by the store's clock. */
  put(input: RecordInput, ttl: number): Promise<void>;
}

/**
 * The records one registry registered (what this peer keeps alive). After an outage, `restore`
 * renews each with a full lifetime, and writes in full those the store lost or whose last write
 * failed (a record update made during the outage: e.g. the new address after a DHCP change). So
 * a registry failover shorter than the TTL never lets a live record expire, and a record
 * restored on the new server is never the stale one.
 */
export class OwnRecords {
  readonly #records = new Map<string, OwnRecord>();
  #restoring: Promise<void> | undefined;

  /** Remembers a record about to be written (before the write: if it fails, `restore` writes it). */
  willWrite(input: RecordInput, ttl: number): () => void {
    const own: OwnRecord = { input, ttl, unwritten: true };
    this.#records.set(input.instanceId, own);
    return () => {
      own.unwritten = false;
    };
  }

  /** Notes the lifetime of a renew. */
  renewed(instanceId: string, ttl: number): void {
    const own = this.#records.get(instanceId);
    if (own) own.ttl = ttl;
  }

  forget(instanceId: string): void {
    this.#records.delete(instanceId);
  }

  clear(): void {
    this.#records.clear();
  }

  /**
   * Renews every record (once at a time: a call while one runs joins it). Stops at the first
   * failure and rejects with it (the outage goes on; the next end of outage tries again).
   */
  restore(store: OwnRecordStore): Promise<void> {
    if (this.#restoring) return this.#restoring;
    if (this.#records.size === 0) return Promise.resolve();
    const run = async () => {
      for (const [instanceId, own] of [...this.#records]) {
        if (this.#records.get(instanceId) !== own) continue;
        if (!own.unwritten && (await store.touch(instanceId, own.ttl))) continue;
        if (this.#records.get(instanceId) !== own) continue;
        await store.put(own.input, own.ttl);
        own.unwritten = false;
      }
    };
    this.#restoring = run().finally(() => {
      this.#restoring = undefined;
    });
    return this.#restoring;
  }
}
