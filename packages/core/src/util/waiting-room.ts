/** Something waiting: where it came from and since when. */
export interface Waiting {
  readonly address: string;
  readonly since: number;
}

/**
 * Connections waiting for something (a hello, a TLS handshake), at most `max` in all and
 * `maxPerAddress` per source address. `make room` closes the one that has waited longest (from the
 * newcomer's own address first, so one address cannot evict another's), through `evict`.
 * Insertion order is age order, so every operation is O(1).
 *
 * @example
 * ```ts
 * const room = new WaitingRoom({ max: 128, maxPerAddress: 32 }, (w, limit) => w.socket.destroy());
 * room.makeRoom(sourceAddress(remote));
 * room.add({ address, since: Date.now(), socket });
 * ```
 */
export class WaitingRoom<W extends Waiting> {
  readonly #all = new Set<W>();
  readonly #byAddress = new Map<string, Set<W>>();

  constructor(
    readonly limits: { readonly max: number; readonly maxPerAddress: number },
    private readonly evict: (waiting: W, limit: 'total' | 'per-address') => void,
  ) {}

  /** How many are waiting. */
  get size(): number {
    return this.#all.size;
  }

  /** The one that has waited longest, if any. */
  oldest(): W | undefined {
    return first(this.#all);
  }

  /** Evicts what must go so that one more from `address` fits. */
  makeRoom(address: string): void {
    const mine = this.#byAddress.get(address);
    if (mine && mine.size >= this.limits.maxPerAddress) this.#evict(first(mine), 'per-address');
    if (this.#all.size >= this.limits.max) this.#evict(first(this.#all), 'total');
  }

  /** Adds a newcomer (call makeRoom first). */
  add(waiting: W): void {
    this.#all.add(waiting);
    let group = this.#byAddress.get(waiting.address);
    if (!group) {
      group = new Set();
      this.#byAddress.set(waiting.address, group);
    }
    group.add(waiting);
  }

  /** True if `waiting` is still in the room. */
  has(waiting: W): boolean {
    return this.#all.has(waiting);
  }

  /** Removes `waiting` (done waiting, closed, or evicted). Idempotent. */
  remove(waiting: W): void {
    if (!this.#all.delete(waiting)) return;
    const group = this.#byAddress.get(waiting.address);
    group?.delete(waiting);
    if (group?.size === 0) this.#byAddress.delete(waiting.address);
  }

  #evict(waiting: W | undefined, limit: 'total' | 'per-address'): void {
    if (!waiting) return;
    this.remove(waiting);
    this.evict(waiting, limit);
  }
}

function first<T>(set: Set<T>): T | undefined {
  for (const value of set) return value;
  return undefined;
}

/**
 * The source a per-address limit counts against, from a transport's `host:port` text: the IPv4
 * address (IPv4-mapped IPv6 included), or the /64 prefix of an IPv6 address (one host usually
 * holds a whole /64).
 */
export function sourceAddress(remote: string | undefined): string {
  if (!remote) return 'unknown';
  let host = /^(.*):\d+$/.exec(remote)?.[1] ?? remote;
  host = host.replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return mapped[1] as string;
  if (!host.includes(':')) return host;
  const [head = '', tail] = host.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}
