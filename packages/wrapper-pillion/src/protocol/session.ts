import {
  abortErrorOf,
  ConnectionClosedError,
  ProtocolError,
  type SidecarError,
  TimeoutError,
} from '@sidecar/core';
import { CallbackDroppedError, MethodNotFoundError, RemoteError } from '../errors.js';
import { uniqueId } from './ids.js';
import { checkCall, invokeProvided, messageOf } from './invoke.js';
import {
  type CallMessage,
  isObject,
  methodOfNotFound,
  notFoundText,
  type PillionMessage,
  preview,
} from './messages.js';
import {
  type DropReason,
  type PendingCall,
  type PendingCallback,
  PendingCallbacks,
  type RemoteFunction,
} from './pending.js';

/** Options of one call made with the promise API. */
export interface CallOptions {
  /** Rejects with TimeoutError after this many ms. @default the stream's callbackTtl (300000) */
  timeout?: number;
  /** Rejects with AbortError when aborted (the late reply, if any, is then ignored). */
  signal?: AbortSignal;
}

/** What a session needs from the stream it runs on. */
export interface SessionOptions {
  /** Sends one message (may throw FrameTooLargeError or ProtocolError for unencodable values). */
  send(message: PillionMessage): void;
  /** The name of the remote peer, for error messages. */
  peerName(): string;
  /** Most callbacks pending at once (the oldest is dropped beyond). */
  maxPendingCallbacks: number;
  /** Longest a callback waits to be invoked, in ms. */
  callbackTtl: number;
  /** Most remote methods remembered from addMethod announcements. */
  maxRemoteMethods: number;
  /** A call made with the callback API failed (the remote answered with an `error` message). */
  onCallError?(error: SidecarError, method: string): void;
  /** A provided method or callback of this side threw (the caller got an `error` message). */
  onMethodError?(error: unknown, method: string): void;
  /** The remote announced (`add`) or withdrew (`remove`) a method. */
  onRemoteMethod?(change: 'add' | 'remove', name: string): void;
}

/**
 * The pillion message handler, independent of streams: `receive()` takes decoded messages,
 * `options.send` emits them. Provided methods, remote methods, callbacks (temporary methods,
 * bounded by count and age) and the promise API all live here. `receive` throws ProtocolError
 * for input that breaks the protocol beyond an answer (the stream should then be closed); bad
 * calls that carry an id are answered with an `error` message instead.
 */
export class PillionSession {
  readonly #options: SessionOptions;
  readonly #provided = new Map<string, RemoteFunction>();
  readonly #remote = new Set<string>();
  readonly #calls = new Map<string, PendingCall>();
  readonly #callbacks: PendingCallbacks;
  #started = false;
  #closed: Error | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#callbacks = new PendingCallbacks(
      options.maxPendingCallbacks,
      options.callbackTtl,
      (name, entry, reason) => this.#dropped(name, entry, reason),
    );
  }

  /** Methods this side provides. */
  get providedMethods(): ReadonlySet<string> {
    return new Set(this.#provided.keys());
  }

  /** Methods the remote side announced and did not withdraw. */
  get remoteMethods(): ReadonlySet<string> {
    return this.#remote;
  }

  /** Callbacks handed out and not invoked, dropped or released yet. */
  get pendingCallbacks(): number {
    return this.#callbacks.size;
  }

  /** Why the session closed, once it has. */
  get closedWith(): Error | undefined {
    return this.#closed;
  }

  /** Announces every provided method; later provide/unprovide calls are announced as they happen. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const name of this.#provided.keys()) this.#announce({ type: 'addMethod', name });
  }

  /** Provides (or replaces) method `name`. */
  provide(name: string, fn: RemoteFunction): void {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('a method name must be a non-empty string');
    if (typeof fn !== 'function') throw new TypeError(`provide("${name}", fn): fn must be a function`);
    const isNew = !this.#provided.has(name);
    this.#provided.set(name, fn);
    if (isNew) this.#announce({ type: 'addMethod', name });
  }

  /** Stops providing method `name`; false if it was not provided. */
  unprovide(name: string): boolean {
    if (!this.#provided.delete(name)) return false;
    this.#announce({ type: 'removeMethod', name });
    return true;
  }

  /** Sends a call (the original's API): function parameters become one-shot callbacks. */
  callRemote(method: string, params: readonly unknown[]): CallMessage {
    return this.#issue(method, params).message;
  }

  /** Calls `method` with `args` plus a callback, and resolves with what the callback receives. */
  call(method: string, args: readonly unknown[], options: CallOptions = {}): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const { signal, timeout } = options;
      if (signal?.aborted) return reject(abortErrorOf(signal));
      let timer: NodeJS.Timeout | undefined;
      let pending: PendingCall | undefined;
      const settle = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (error: Error) => {
        settle();
        if (pending) this.#release(pending);
        reject(error);
      };
      const onAbort = () => fail(abortErrorOf(signal as AbortSignal));
      const reply = (...values: unknown[]) => {
        settle();
        resolve(values.length <= 1 ? values[0] : values);
      };
      try {
        pending = this.#issue(method, [...args, reply], fail).call;
      } catch (err) {
        return reject(err);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined && timeout !== Number.POSITIVE_INFINITY) {
        if (!(timeout > 0))
          return fail(new RangeError(`timeout must be a positive number of ms, got ${timeout}`));
        timer = setTimeout(
          () =>
            fail(
              new TimeoutError(`the call to "${method}" on "${this.#peer}" timed out after ${timeout} ms`),
            ),
          timeout,
        );
        timer.unref();
      }
    });
  }

  /** Handles one decoded message. Throws ProtocolError when the stream must be closed. */
  receive(message: unknown): void {
    if (this.#closed) return;
    if (!isObject(message))
      throw new ProtocolError(`a pillion message must be a JSON object, got ${preview(message)}`);
    switch (message.type) {
      case 'call':
        this.#onCall(message);
        return;
      case 'error':
        this.#onError(message);
        return;
      case 'addMethod':
      case 'removeMethod':
        this.#onMethod(message);
        return;
      default:
        throw new ProtocolError(
          `unknown pillion message type ${preview(message.type)}: expected call, error, addMethod or removeMethod`,
        );
    }
  }

  /** Rejects every pending promise call with `error` and frees every callback. Idempotent. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    this.#callbacks.clear();
    for (const call of calls) call.fail?.(error);
  }

  get #peer(): string {
    return this.#options.peerName();
  }

  #issue(method: string, params: readonly unknown[], fail?: (error: Error) => void) {
    if (this.#closed) {
      throw new ConnectionClosedError(
        `the pillion stream to "${this.#peer}" is closed: ${this.#closed.message}`,
        {
          cause: this.#closed,
        },
      );
    }
    if (typeof method !== 'string' || method === '')
      throw new TypeError('a method name must be a non-empty string');
    const id = uniqueId((candidate) => this.#calls.has(candidate));
    const functions: number[] = [];
    const names: Array<[string, RemoteFunction]> = [];
    let call: PendingCall | undefined;
    const wire = params.map((param, index) => {
      if (typeof param !== 'function') return param;
      call ??= { id, method, callbacks: new Set(), ...(fail ? { fail } : {}) };
      const pendingCall = call;
      const name = uniqueId((n) => this.#callbacks.has(n) || pendingCall.callbacks.has(n), 'x_');
      pendingCall.callbacks.add(name);
      names.push([name, param as RemoteFunction]);
      functions.push(index);
      return { name };
    });
    const message: CallMessage = { type: 'call', id, method, params: wire, functions };
    this.#options.send(message);
    if (call) {
      this.#calls.set(id, call);
      for (const [name, fn] of names) this.#callbacks.add(name, fn, call);
    }
    return { message, call };
  }

  #release(call: PendingCall): void {
    for (const name of call.callbacks) this.#callbacks.take(name);
    call.callbacks.clear();
    this.#calls.delete(call.id);
  }

  #dropped(name: string, entry: PendingCallback, reason: DropReason): void {
    const call = entry.call;
    call.callbacks.delete(name);
    if (call.callbacks.size === 0) this.#calls.delete(call.id);
    call.fail?.(
      reason === 'expired'
        ? new TimeoutError(
            `no reply to "${call.method}" from "${this.#peer}" within callbackTtl (${this.#callbacks.ttl} ms)`,
          )
        : new CallbackDroppedError(call.method, this.#callbacks.max),
    );
  }

  #onCall(message: Record<string, unknown>): void {
    const id = message.id;
    if (typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
      throw new ProtocolError(`a call message needs a string id: ${preview(message)}`);
    }
    const problem = checkCall(message);
    if (problem) {
      this.#replyError(id, `invalid call: ${problem}`);
      return;
    }
    const { method, params } = message as unknown as CallMessage;
    const functions = (message.functions ?? []) as number[];
    const args = params.slice();
    for (const k of functions) args[k] = this.#remoteFunction((params[k] as { name: string }).name);
    const entry = this.#callbacks.take(method);
    if (entry) {
      entry.call.callbacks.delete(method);
      if (entry.call.callbacks.size === 0) this.#calls.delete(entry.call.id);
      try {
        entry.fn(...args);
      } catch (err) {
        this.#methodFailed(id, method, err);
      }
      return;
    }
    const fn = this.#provided.get(method);
    if (!fn) {
      this.#replyError(id, notFoundText(method));
      return;
    }
    invokeProvided(fn, args, functions, (err) => this.#methodFailed(id, method, err));
  }

  #onError(message: Record<string, unknown>): void {
    const { inResponseTo, error } = message;
    if (typeof error !== 'string' || (typeof inResponseTo !== 'string' && typeof inResponseTo !== 'number')) {
      throw new ProtocolError(`an error message needs a string error and inResponseTo: ${preview(message)}`);
    }
    const call = this.#calls.get(String(inResponseTo));
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

  #onMethod(message: Record<string, unknown>): void {
    const { type, name } = message;
    if (typeof name !== 'string' || name === '') {
      throw new ProtocolError(`${String(type)} needs a non-empty string name: ${preview(message)}`);
    }
    if (type === 'addMethod') {
      if (this.#remote.has(name)) return;
      if (this.#remote.size >= this.#options.maxRemoteMethods) {
        throw new ProtocolError(`the peer announced more than ${this.#options.maxRemoteMethods} methods`);
      }
      this.#remote.add(name);
      this.#options.onRemoteMethod?.('add', name);
    } else if (this.#remote.delete(name)) {
      this.#options.onRemoteMethod?.('remove', name);
    }
  }

  #remoteFunction(name: string): RemoteFunction {
    return (...args: unknown[]) => {
      if (!this.#closed) this.#issue(name, args);
    };
  }

  #methodFailed(id: string | number, method: string, err: unknown): void {
    if (this.#closed) return;
    this.#replyError(id, `method \`${method}' failed: ${messageOf(err)}`);
    this.#options.onMethodError?.(err, method);
  }

  #replyError(id: string | number, text: string): void {
    if (this.#closed) return;
    try {
      this.#options.send({ type: 'error', inResponseTo: id, error: text });
    } catch {
      // An answer too large to send (an absurd method name) is dropped; the caller times out.
    }
  }

  #announce(message: PillionMessage): void {
    if (this.#started && !this.#closed) this.#options.send(message);
  }
}
