/**
 * A Map bounded to `max` entries that drops the least recently used one first: `get` and `set`
 * mark an entry as just used. Used for the lookup cache and TLS session tickets, so that ever new
 * keys (a scan of 300,000 names) keep memory flat. A `max` of 0 keeps nothing.
 *
 * @example
 * ```ts
 * const cache = new LruMap<string, number>(2);
 * cache.set('a', 1); cache.set('b', 2); cache.get('a'); cache.set('c', 3); // 'b' is dropped
 * ```
 */
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly max: number) {}

  /** The value of `key`, marked as just used. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  /** Stores a value, dropping the least recently used entries beyond `max`. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    if (this.max <= 0) return;
    this.#entries.set(key, value);
    while (this.#entries.size > this.max) {
      const oldest = this.#entries.keys().next().value as K;
      this.#entries.delete(oldest);
    }
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
