import { networkInterfaces } from 'node:os';

/** Default interval between two reads of this host's interface addresses, in ms. */
export const DEFAULT_HOST_ADDRESS_CHECK_INTERVAL = 1000;

type Listener = (current: ReadonlySet<string>, removed: string[]) => void;

/** This host's addresses, every family, loopback included (`::ffff:` prefixes removed). */
export function hostAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) out.add(normalizeAddress(info.address));
  }
  return out;
}

/** An address as compared here: IPv4-mapped IPv6 becomes plain IPv4, a zone id is dropped. */
export function normalizeAddress(address: string): string {
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1').replace(/%.*$/, '');
}

/**
 * One poller of this host's interface addresses shared by every registry of the process (a
 * DHCP lease that moves the host's address takes a registry connection's source address with
 * it). Listeners hear the current set and the addresses that disappeared since the last read.
 */
class HostAddressWatcher {
  readonly #listeners = new Set<Listener>();
  #known = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #interval = DEFAULT_HOST_ADDRESS_CHECK_INTERVAL;

  add(listener: Listener, intervalMs: number): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) {
      this.#known = hostAddresses();
      this.#interval = intervalMs;
      this.#start();
    } else if (intervalMs < this.#interval) {
      this.#interval = intervalMs;
      this.#start();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        this.#interval = DEFAULT_HOST_ADDRESS_CHECK_INTERVAL;
      }
    };
  }

  #start(): void {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#check(), this.#interval);
    this.#timer.unref();
  }

  #check(): void {
    const current = hostAddresses();
    const removed = [...this.#known].filter((a) => !current.has(a));
    const added = [...current].some((a) => !this.#known.has(a));
    this.#known = current;
    if (removed.length === 0 && !added) return;
    for (const listener of [...this.#listeners]) listener(current, removed);
  }
}

const shared = new HostAddressWatcher();

/**
 * Calls `listener` whenever this host's set of addresses changes, checking every `intervalMs`;
 * returns the function that stops it. The timer never keeps the process alive.
 *
 * @example
 * ```ts
 * const stop = watchHostAddresses((current) => console.log([...current]), 1000);
 * ```
 */
export function watchHostAddresses(
  listener: Listener,
  intervalMs = DEFAULT_HOST_ADDRESS_CHECK_INTERVAL,
): () => void {
  return shared.add(listener, intervalMs);
}
