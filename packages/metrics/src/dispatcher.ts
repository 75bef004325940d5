import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DIAGNOSTICS, observeRpcCalls, type RpcCallObserver } from '@sidecar/core/diagnostics';
import type { RpcRecorder } from './rpc-recorder.js';

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

  /** `keyOf` names the key of a message; without it, the message's `owner` (read inline). */
  constructor(
    readonly channel: string,
    keyOf?: (message: unknown) => unknown,
  ) {
    const byKey = this.#byKey;
    this.#route = keyOf
      ? (message) => byKey.get(keyOf(message))?.(message)
      : (message) => byKey.get((message as { owner: string }).owner)?.(message);
  }

  add(key: unknown, handler: Handler): void {
    if (this.#byKey.size === 0) subscribe(this.channel, this.#route);
    this.#byKey.set(key, handler);
  }

  delete(key: unknown): void {
    if (this.#byKey.delete(key) && this.#byKey.size === 0) unsubscribe(this.channel, this.#route);
  }
}

/** The dispatcher of each diagnostics channel, by channel name (RPC calls: {@link RPC_CALLS}). */
export const DISPATCHERS = new Map<string, Dispatcher>(
  [
    DIAGNOSTICS.streamOpen,
    DIAGNOSTICS.connectPhase,
    DIAGNOSTICS.dialFailure,
    DIAGNOSTICS.helloRefusal,
    DIAGNOSTICS.heartbeat,
  ].map((name) => [name, new Dispatcher(name)]),
);
DISPATCHERS.set(
  DIAGNOSTICS.registryOperation,
  new Dispatcher(DIAGNOSTICS.registryOperation, (m) => (m as { registry: object }).registry),
);

/**
 * Finished RPC calls, the hottest path: one observer for the process (core's `observeRpcCalls`,
 * no message object), routed to the recorder of the call's owner. The last owner and its
 * recorder are kept at hand: a process usually holds one sidecar, and a chunk of replies or
 * calls is read for one sidecar at a time.
 */
class RpcCallDispatcher {
  readonly #byOwner = new Map<string, RpcRecorder>();
  #lastOwner = '';
  #last: RpcRecorder | undefined;
  #stop: (() => void) | undefined;

  readonly #observe: RpcCallObserver = (owner, side, method, duration, error) => {
    let recorder = this.#last;
    if (recorder === undefined || owner !== this.#lastOwner) {
      recorder = this.#byOwner.get(owner);
      if (recorder === undefined) return;
      this.#last = recorder;
      this.#lastOwner = owner;
    }
    recorder.record(side, method, duration, error);
  };

  add(owner: string, recorder: RpcRecorder): void {
    this.#byOwner.set(owner, recorder);
    this.#last = undefined;
    this.#stop ??= observeRpcCalls(this.#observe);
  }

  delete(owner: string): void {
    this.#last = undefined;
    if (this.#byOwner.delete(owner) && this.#byOwner.size === 0) {
      this.#stop?.();
      this.#stop = undefined;
    }
  }
}

/** The process's one route for finished RPC calls, by owner. */
export const RPC_CALLS = new RpcCallDispatcher();
