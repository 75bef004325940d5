import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DIAGNOSTICS } from '@sidecar/core/diagnostics';

/** Handles one diagnostics message. */
export type Handler = (message: unknown) => void;

/**
 * One subscription per channel for the whole process, dispatching each message to the collector
 * of its owner (a map lookup) instead of every collector checking every message: a process with
 * several sidecars pays for one handler per message, not one per sidecar.
 */
class Dispatcher {
  readonly #byKey = new Map<unknown, Handler>();
  readonly #route: Handler;
  /** The owner of the last message routed by owner, and its handler (most messages repeat it). */
  #lastOwner: unknown;
  #lastHandler: Handler | undefined;

  /** `keyOf` names the key of a message; without it, the message's `owner` (read inline: the hot path). */
  constructor(
    readonly channel: string,
    keyOf?: (message: unknown) => unknown,
  ) {
    const byKey = this.#byKey;
    this.#route = keyOf
      ? (message) => byKey.get(keyOf(message))?.(message)
      : (message) => {
          const owner = (message as { owner: string }).owner;
          if (owner !== this.#lastOwner || this.#lastHandler === undefined) {
            this.#lastHandler = byKey.get(owner);
            this.#lastOwner = owner;
          }
          this.#lastHandler?.(message);
        };
  }

  add(key: unknown, handler: Handler): void {
    if (this.#byKey.size === 0) subscribe(this.channel, this.#route);
    this.#byKey.set(key, handler);
    this.#lastHandler = undefined;
  }

  delete(key: unknown): void {
    this.#lastHandler = undefined;
    if (this.#byKey.delete(key) && this.#byKey.size === 0) unsubscribe(this.channel, this.#route);
  }
}

/** The dispatcher of each diagnostics channel, by channel name. */
export const DISPATCHERS = new Map<string, Dispatcher>(
  [
    DIAGNOSTICS.streamOpen,
    DIAGNOSTICS.connectPhase,
    DIAGNOSTICS.dialFailure,
    DIAGNOSTICS.helloRefusal,
    DIAGNOSTICS.heartbeat,
    DIAGNOSTICS.rpcCall,
  ].map((name) => [name, new Dispatcher(name)]),
);
DISPATCHERS.set(
  DIAGNOSTICS.registryOperation,
  new Dispatcher(DIAGNOSTICS.registryOperation, (m) => (m as { registry: object }).registry),
);
