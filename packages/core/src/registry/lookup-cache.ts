import type { InstanceRecord } from '../records.js';
import { LruMap } from '../util/lru-map.js';

/** One cached lookup. */
export interface CacheEntry {
  records: InstanceRecord[];
  fetchedAt: number;
}

/**
 * The lookup cache: name -> last records seen, bounded to `max` names. The least recently used
 * name goes first, so looking up ever new names (300,000 of them) keeps memory flat.
 */
export class LookupCache extends LruMap<string, CacheEntry> {}
