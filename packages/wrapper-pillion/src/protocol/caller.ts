import { ConnectionClosedError, ProtocolError, TimeoutError } from '@sidecar/core';
import { observeClientCallbacks, startRpcTimer } from '@sidecar/core/diagnostics';
import { abortErrorOf } from '@sidecar/core/plugin-kit';
import { CallbackDroppedError, MethodNotFoundError, RemoteError } from '../errors.js';
import { encodeCall, hasFunction, sendPlainCall } from './call-encoding.js';
import { generateId } from './ids.js';
import { type CallMessage, methodOfNotFound, preview } from './messages.js';
import {
  type DropReason,
  FunctionCallback,
  type PendingCall,
  type PendingCallback,
  PendingCallbacks,
  type RemoteFunction,
  removeCallbackName,
} from './pending.js';
import { PromiseCall } from './promise-call.js';
import type { CallOptions, SessionOptions } from './session-options.js';

/**
 * The calling side of a session: calls sent (the original's callback API and the promise API),
 * the callbacks they handed out (temporary methods, bounded in number and age), and the `error`
 * answers to them. The session hands it the calls that name one of its callbacks.
 */
export class Caller {
  readonly #options: SessionOptions;
  readonly #owner: string;
  /**
   * Calls that have function callbacks pending, by id. Promise calls are not kept here: their
   * reply callback is named `x_<id>`, so `#callbacks` finds them.
   */
  readonly #calls = new Map<string, PendingCall>();
  readonly #callbacks: PendingCallbacks;
  #closed: Error | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#owner = options.owner ?? '';
    this.#callbacks = new PendingCallbacks(
      options.maxPendingCallbacks,
      options.callbackTtl,
      (name, entry, reason) => this.#dropped(name, entry, reason),
    );
  }

  /** Callbacks handed out and not invoked, dropped or released yet. */
  get pendingCallbacks(): number {
    return this.#callbacks.size;
  }

  /** Sends a call (the original's API): function parameters become one-shot callbacks. */
  callRemote(method: string, params: readonly unknown[]): CallMessage {
    this.#checkOpen(method);
    const observed = observeClientCallbacks(this.#owner, method, params);
    const id = generateId();
    const { json, wire, functions, names } = encodeCall(id, method, observed);
    this.#options.send(json);
    if (names.length > 0) this.#track({ id, method, callbacks: names }, observed, functions, true);
    return { type: 'call', id, method, params: wire, functions };
  }

  /** Calls `method` with `args` plus a callback, and resolves with what the callback receives. */
  call(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const signal = options?.signal;
    const timeout = options?.timeout;
    if (signal?.aborted) return Promise.reject(abortErrorOf(signal));
    const timed = timeout !== undefined && timeout !== Number.POSITIVE_INFINITY;
    if (timed && !(timeout > 0)) {
      return Promise.reject(new RangeError(`timeout must be a positive number of ms, got ${timeout}`));
    }
    let call: PromiseCall | undefined;
    const promise = new Promise<unknown>((resolve, reject) => {
      call = new PromiseCall(generateId(), method, resolve, reject);
    });
    const pending = call as PromiseCall;
    startRpcTimer(pending, this.#owner);
    try {
      this.#issue(pending, args);
    } catch (err) {
      pending.reject(err as Error);
      return promise;
    }
    if (signal) pending.watch(signal, () => this.#abandon(pending, abortErrorOf(signal)));
    if (timed) {
      pending.expire(timeout, () =>
        this.#abandon(
          pending,
          new TimeoutError(`the call to "${method}" on "${this.#peer}" timed out after ${timeout} ms`),
        ),
      );
    }
    return promise;
  }

  /** Calls the remote callback `name` (a call of its own, with an id, as the original does). */
  callBack(name: string, args: unknown[]): void {
    if (!hasFunction(args)) {
      sendPlainCall(this.#options, generateId(), name, args);
      return;
    }
    const id = generateId();
    const { json, functions, names } = encodeCall(id, name, args);
    this.#options.send(json);
    this.#track({ id, method: name, callbacks: names }, args, functions, true);
  }

  /**
   * Takes the callback `name` that an incoming call invokes (a temporary method is used once),
   * or undefined when there is none.
   */
  take(name: string): PendingCallback | undefined {
    const entry = this.#callbacks.take(name);
    // Promise calls are not kept by id (see #calls): no lookup to make for them.
    if (entry && removeCallbackName(entry.call, name) && !(entry.call instanceof PromiseCall)) {
      this.#calls.delete(entry.call.id);
    }
    return entry;
  }

  /** Handles an `error` message: the answer to one of this side's calls. */
  receiveError(message: Record<string, unknown>): void {
    const { inResponseTo, error } = message;
    if (typeof error !== 'string' || (typeof inResponseTo !== 'string' && typeof inResponseTo !== 'number')) {
      this.#options.onWarning?.(
        new ProtocolError(
          `ignored an error message without a string error and inResponseTo: ${preview(message)}`,
        ),
      );
      return;
    }
    const callId = String(inResponseTo);
    const call = this.#calls.get(callId) ?? this.#callbacks.get(`x_${callId}`)?.call;
    const missing = methodOfNotFound(error);
    const err =
      missing !== undefined
        ? new MethodNotFoundError(missing, this.#peer)
        : new RemoteError(call?.method ?? '', this.#peer, error);
    if (!call) {
      this.#options.onCallError?.(err, missing ?? '');
      return;
    }
    this.#release(call);
    if (call.fail) call.fail(err);
    else this.#options.onCallError?.(err, call.method);
  }

  /** Rejects every pending promise call with `error` and frees every callback. Idempotent. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    const calls = new Set<PendingCall>(this.#calls.values());
    for (const entry of this.#callbacks.clear()) calls.add(entry.call);
    this.#calls.clear();
    for (const call of calls) call.fail?.(error);
  }

  get #peer(): string {
    return this.#options.peerName();
  }

  #checkOpen(method: string): void {
    if (this.#closed) {
      throw new ConnectionClosedError(
        `the pillion stream to "${this.#peer}" is closed: ${this.#closed.message}`,
        { cause: this.#closed },
      );
    }
    if (typeof method !== 'string' || method === '')
      throw new TypeError('a method name must be a non-empty string');
  }

  /** Sends a promise call: its reply callback, named after its id, is appended to the params. */
  #issue(call: PromiseCall, args: readonly unknown[]): void {
    const { id, method } = call;
    this.#checkOpen(method);
    const reply = call.name;
    if (hasFunction(args)) {
      const { json, functions, names } = encodeCall(id, method, args, reply);
      this.#options.send(json);
      names.pop();
      functions.pop();
      call.callbacks.unshift(...names);
      if (names.length > 0) this.#track(call, args, functions, false);
    } else sendPlainCall(this.#options, id, method, args, reply);
    this.#callbacks.add(call);
  }

  /**
   * Registers the function callbacks of a call sent (`call.callbacks[j]` is `params[functions[j]]`),
   * and the call by id when `byId` (promise calls are found through their reply's name).
   */
  #track(call: PendingCall, params: readonly unknown[], functions: readonly number[], byId: boolean): void {
    if (byId) this.#calls.set(call.id, call);
    const names = call.callbacks;
    for (let j = 0; j < functions.length; j++) {
      const fn = params[functions[j] as number] as RemoteFunction;
      this.#callbacks.add(new FunctionCallback(names[j] as string, fn, call));
    }
  }

  /** Gives up on a promise call (abort, timeout): frees its callbacks and rejects it. */
  #abandon(call: PromiseCall, error: Error): void {
    this.#release(call);
    call.fail(error);
  }

  #release(call: PendingCall): void {
    for (const name of call.callbacks) this.#callbacks.take(name);
    call.callbacks.length = 0;
    this.#calls.delete(call.id);
  }

  #dropped(name: string, entry: PendingCallback, reason: DropReason): void {
    const call = entry.call;
    if (removeCallbackName(call, name)) this.#calls.delete(call.id);
    call.fail?.(
      reason === 'expired'
        ? new TimeoutError(
            `no reply to "${call.method}" from "${this.#peer}" within callbackTtl (${this.#callbacks.ttl} ms)`,
          )
        : new CallbackDroppedError(call.method, this.#callbacks.max),
    );
  }
}
