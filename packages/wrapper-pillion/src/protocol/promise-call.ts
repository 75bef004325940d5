import { endRpcTimer, type RpcTimed } from '@sidecar/core/diagnostics';
import { onAbort as whenAborted } from '@sidecar/core/plugin-kit';
import type { PendingCall, PendingCallback } from './pending.js';

/**
 * A call made with the promise API: the pending call and its promise's settlement in one
 * object, so a call without a timeout or signal allocates no closures besides the promise's
 * executor. Its reply callback has no function: the session calls `settle` with the arguments.
 */
export class PromiseCall implements PendingCall, PendingCallback, RpcTimed {
  /** Its callbacks still pending: its reply's name last, after any function callbacks. */
  readonly callbacks: string[];
  /** The name of its reply callback, `x_<id>` (it is that callback's entry). */
  readonly name: string;
  /** As its own reply's entry in the callback table: no function, the call is this. */
  readonly fn = undefined;
  expiresAt = 0;
  /** When the call started, for metrics when something listens, else -1 (see core's diagnostics). */
  rpcStart = -1;
  rpcOwner = '';
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly method: string,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
  ) {
    this.name = `x_${id}`;
    this.callbacks = [this.name];
  }

  get call(): this {
    return this;
  }

  /** Resolves with the value when the reply has one argument (or none), else with all of them. */
  settle(values: unknown[]): void {
    if (this.#timer || this.#unwatch) this.#release();
    endRpcTimer(this, 'client');
    this.resolve(values.length <= 1 ? values[0] : values);
  }

  /** Rejects with `error`. */
  fail(error: Error): void {
    if (this.#timer || this.#unwatch) this.#release();
    endRpcTimer(this, 'client', error);
    this.reject(error);
  }

  /** Calls `onAbort` once if `signal` aborts before the call settles (one listener per shared signal). */
  watch(signal: AbortSignal, onAbort: () => void): void {
    this.#unwatch = whenAborted(signal, onAbort);
  }

  /** Calls `onTimeout` once if the call has not settled after `ms`. */
  expire(ms: number, onTimeout: () => void): void {
    this.#timer = setTimeout(onTimeout, ms);
    this.#timer.unref();
  }

  #release(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#unwatch?.();
    this.#timer = undefined;
    this.#unwatch = undefined;
  }
}
