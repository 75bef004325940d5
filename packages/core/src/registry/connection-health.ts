import { isSidecarError } from '../errors.js';
import { normalizeAddress, watchHostAddresses } from './host-addresses.js';

/** What the health tracker asks of its registry. */
export interface HealthHooks {
  /** True if a driver failure is a call that timed out. */
  isTimeout(err: unknown): boolean;
  /** Local addresses of the open connections to the store. */
  localAddresses(): string[];
  /** Drop every connection and make new ones, saying why. */
  reconnect(reason: string): void;
  /** A call worked after an outage: renew what the outage may have cost. */
  restored(): void;
}

/**
 * Tells a registry when its connections to the store need help: an outage ends (the first call
 * that works after one failed), calls time out again and again (a dead path: reconnect), or this
 * host loses the source address of a connection (DHCP: reconnect at once).
 */
export class ConnectionHealth {
  readonly #hooks: HealthHooks;
  readonly #reconnectAfterTimeouts: number;
  readonly #addressCheckInterval: number;
  #timeouts = 0;
  #outage = false;
  #stopWatching: (() => void) | undefined;

  constructor(hooks: HealthHooks, reconnectAfterTimeouts: number, addressCheckInterval: number) {
    this.#hooks = hooks;
    this.#reconnectAfterTimeouts = reconnectAfterTimeouts;
    this.#addressCheckInterval = addressCheckInterval;
  }

  /** A call worked: if it is the first after an outage, the registry restores its records. */
  succeeded(): void {
    this.#timeouts = 0;
    if (this.#outage) {
      this.#outage = false;
      this.#hooks.restored();
    }
  }

  /** A call failed: an outage began; repeated timeouts mean a dead path, so reconnect. */
  failed(err: unknown): void {
    if (isSidecarError(err) && !err.retryable) return;
    this.#outage = true;
    if (!this.#hooks.isTimeout(err)) return;
    this.#timeouts++;
    if (this.#reconnectAfterTimeouts > 0 && this.#timeouts >= this.#reconnectAfterTimeouts) {
      const count = this.#timeouts;
      this.#timeouts = 0;
      this.#hooks.reconnect(`${count} calls in a row timed out`);
    }
  }

  /** The connections were (re)made: the next success ends the outage. */
  reconnecting(): void {
    this.#timeouts = 0;
    this.#outage = true;
  }

  /** The connection is known to be back (the adapter said so). */
  back(): void {
    this.#timeouts = 0;
    this.#outage = false;
  }

  /** Starts watching this host's addresses (network registries). */
  followHostAddresses(): void {
    if (this.#stopWatching) return;
    this.#stopWatching = watchHostAddresses((current) => {
      const stale = this.#hooks
        .localAddresses()
        .map(normalizeAddress)
        .filter((a) => a !== '' && !current.has(a));
      if (stale.length > 0)
        this.#hooks.reconnect(
          `this host no longer has the address ${[...new Set(stale)].join(', ')} of its connection`,
        );
    }, this.#addressCheckInterval);
  }

  /** Stops watching and forgets the state. */
  stop(): void {
    this.#stopWatching?.();
    this.#stopWatching = undefined;
    this.#timeouts = 0;
    this.#outage = false;
  }
}
