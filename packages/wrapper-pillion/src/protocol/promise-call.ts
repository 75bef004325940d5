import type { PendingCall } from './pending.js';

/**
 * A call made with the promise API: the pending call and its promise's settlement in one
 * object, so a call without a timeout or signal allocates no closures besides the promise's
 * executor. Its reply callback has no function: the session calls `settle` with the arguments.
 */
export class PromiseCall implements PendingCall {
  readonly callbacks: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly method: string,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
  ) {}

  /** Resolves with the value when the reply has one argument (or none), else with all of them. */
  settle(values: unknown[]): void {
    if (this.#timer || this.#signal) this.#release();
    this.resolve(values.length <= 1 ? values[0] : values);
  }

  /** Rejects with `error`. */
  fail(error: Error): void {
    if (this.#timer || this.#signal) this.#release();
    this.reject(error);
  }

  /** Calls `onAbort` once if `signal` aborts before the call settles. */
  watch(signal: AbortSignal, onAbort: () => void): void {
    this.#signal = signal;
    this.#onAbort = onAbort;
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Calls `onTimeout` once if the call has not settled after `ms`. */
  expire(ms: number, onTimeout: () => void): void {
    this.#timer = setTimeout(onTimeout, ms);
    this.#timer.unref();
  }

  #release(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#timer = undefined;
    this.#signal = undefined;
    this.#onAbort = undefined;
  }
}
