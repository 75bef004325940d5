import { ConnectionClosedError, ProtocolError, type SidecarError, TimeoutError } from '@sidecar/core';
import { observeClientCallbacks, startRpcTimer } from '@sidecar/core/diagnostics';
import { abortErrorOf } from '@sidecar/core/plugin-kit';
import { CallbackDroppedError, MethodNotFoundError, RemoteError, ReplyFailedError } from '../errors.js';
import { generateId } from './ids.js';
import {
  checkCall,
  type InvokeHost,
  invokeProvided,
  messageOf,
  type ReplyTo,
  type ReplyTrack,
} from './invoke.js';
import {
  appendCallbackRef,
  type CallMessage,
  callJson,
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
  removeCallbackName,
} from './pending.js';
import { PromiseCall } from './promise-call.js';

/** Options of one call made with the promise API. */
export interface CallOptions {
  /** Rejects with TimeoutError after this many ms. @default the stream's callbackTtl (300000) */
  timeout?: number;
  /** Rejects with AbortError when aborted (the late reply, if any, is then ignored). */
  signal?: AbortSignal;
}

/** What a session needs from the stream it runs on. */
export interface SessionOptions {
  /**
   * Sends one message (may throw FrameTooLargeError or ProtocolError for unencodable values).
   * `json`, when given, is the message's JSON text, already made: send it as is.
   */
  send(message: PillionMessage, json?: string): void;
  /** The name of the remote peer, for error messages. */
  peerName(): string;
  /** The instance id of this side, naming the owner of its diagnostics (calls timed for metrics). @default '' */
  owner?: string;
  /** Most callbacks pending at once (the oldest is dropped beyond). */
  maxPendingCallbacks: number;
  /** Longest a callback waits to be invoked, in ms. */
  callbackTtl: number;
  /** Most remote methods remembered from methodAdded announcements. */
  maxRemoteMethods: number;
  /** Most bytes of remote method names remembered (UTF-8, summed). @default 1048576 */
  maxRemoteMethodBytes?: number;
  /** A call made with the callback API failed (the remote answered with an `error` message). */
  onCallError?(error: SidecarError, method: string): void;
  /** A provided method or callback of this side threw (the caller got an `error` message). */
  onMethodError?(error: unknown, method: string): void;
  /** The remote announced (`add`) or withdrew (`remove`) a method. */
  onRemoteMethod?(change: 'add' | 'remove', name: string): void;
  /**
   * Something was ignored or failed without closing the stream: a message of unknown type, an
   * announcement over the limits, a reply too large to send (ReplyFailedError).
   */
  onWarning?(error: SidecarError): void;
}

/** Most distinct unknown message types reported by `onWarning` per session (then silence). */
const MAX_UNKNOWN_TYPES_REPORTED = 16;
/** Method-name bytes remembered by default (see `maxRemoteMethodBytes`). */
const DEFAULT_REMOTE_METHOD_BYTES = 1024 * 1024;

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
  #remoteBytes = 0;
  #limitReported = false;
  readonly #unknownTypes = new Set<string>();
  /**
   * Calls made with callRemote that have callbacks pending, by id. Promise calls are not kept
   * here: their reply callback is named `x_<id>`, so `#callbacks` finds them by id.
   */
  readonly #calls = new Map<string, PendingCall>();
  readonly #callbacks: PendingCallbacks;
  readonly #host: InvokeHost = {
    remoteFunction: (name, track, reply) => this.#remoteFunction(name, track, reply),
    failed: (id, method, err) => this.#methodFailed(id, method, err),
  };
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
    for (const name of this.#provided.keys()) this.#announce({ type: 'methodAdded', name });
  }

  /** Provides (or replaces) method `name`. */
  provide(name: string, fn: RemoteFunction): void {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('a method name must be a non-empty string');
    if (typeof fn !== 'function') throw new TypeError(`provide("${name}", fn): fn must be a function`);
    const isNew = !this.#provided.has(name);
    this.#provided.set(name, fn);
    if (isNew) this.#announce({ type: 'methodAdded', name });
  }

  /** Stops providing method `name`; false if it was not provided. */
  unprovide(name: string): boolean {
    if (!this.#provided.delete(name)) return false;
    this.#announce({ type: 'methodRemoved', name });
    return true;
  }

  /** Sends a call (the original's API): function parameters become one-shot callbacks. */
  callRemote(method: string, params: readonly unknown[]): CallMessage {
    return this.#issue(method, observeClientCallbacks(this.#options.owner ?? '', method, params));
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
    pending.timer = startRpcTimer(this.#options.owner ?? '', 'client', method);
    try {
      this.#issue(method, args, pending);
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

  /**
   * Handles one decoded message. Throws ProtocolError when the stream must be closed (a message
   * that is not an object, a call without an id). Messages of other types are ignored, reported
   * once per type through `onWarning`: that is how the protocol grows.
   */
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
      case 'methodAdded':
      case 'addMethod':
        this.#onMethod(message, true);
        return;
      case 'methodRemoved':
      case 'removeMethod':
        this.#onMethod(message, false);
        return;
      default:
        this.#onUnknown(message.type);
    }
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

  /**
   * Sends a call. Function parameters become callbacks (temporary methods) registered once the
   * message is sent; a promise call (`promise`) gets one more callback, its reply, at the end.
   */
  #issue(method: string, params: readonly unknown[], promise?: PromiseCall): CallMessage {
    if (this.#closed) {
      throw new ConnectionClosedError(
        `the pillion stream to "${this.#peer}" is closed: ${this.#closed.message}`,
        { cause: this.#closed },
      );
    }
    if (typeof method !== 'string' || method === '')
      throw new TypeError('a method name must be a non-empty string');
    const id = promise ? promise.id : generateId();
    const functions: number[] = [];
    let call: PendingCall | undefined = promise;
    let wire = params as unknown[];
    for (let i = 0; i < params.length; i++) {
      if (typeof params[i] !== 'function') continue;
      if (wire === params) wire = params.slice();
      call ??= { id, method, callbacks: [] };
      const name = `x_${generateId()}`;
      call.callbacks.push(name);
      wire[i] = { name };
      functions.push(i);
    }
    let paramsJson: string;
    if (promise) {
      // The reply's name derives from the call id, unique already: no second id to make.
      const name = `x_${id}`;
      promise.callbacks.push(name);
      functions.push(wire.length);
      if (wire === params) {
        paramsJson = appendCallbackRef(JSON.stringify(params), name);
        wire = [...params, { name }];
      } else {
        wire.push({ name });
        paramsJson = JSON.stringify(wire);
      }
    } else paramsJson = JSON.stringify(wire);
    const message: CallMessage = { type: 'call', id, method, params: wire, functions };
    this.#options.send(message, callJson(id, method, paramsJson, functions));
    if (call) {
      if (!promise) this.#calls.set(id, call);
      const names = call.callbacks;
      for (let j = 0; j < names.length; j++) {
        const index = functions[j] as number;
        const fn = index < params.length ? (params[index] as RemoteFunction) : undefined;
        this.#callbacks.add(names[j] as string, fn, call);
      }
    }
    return message;
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
    const functions = message.functions as number[] | undefined;
    const entry = this.#callbacks.take(method);
    if (entry) {
      const args =
        functions && functions.length > 0
          ? this.#withRemoteFunctions(params, functions, { id, method })
          : params;
      const call = entry.call;
      if (removeCallbackName(call, method)) this.#calls.delete(call.id);
      try {
        if (entry.fn) entry.fn(...args);
        else call.settle?.(args);
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
    const timer = startRpcTimer(this.#options.owner ?? '', 'server', method);
    invokeProvided(this.#host, fn, params, functions, id, method, timer);
  }

  /** A copy of `params` with each callback reference turned into a function that calls it. */
  #withRemoteFunctions(params: unknown[], functions: readonly number[], reply: ReplyTo): unknown[] {
    const args = params.slice();
    for (const k of functions) {
      args[k] = this.#remoteFunction((params[k] as { name: string }).name, undefined, reply);
    }
    return args;
  }

  #onUnknown(type: unknown): void {
    const key = preview(type);
    if (this.#unknownTypes.has(key) || this.#unknownTypes.size >= MAX_UNKNOWN_TYPES_REPORTED) return;
    this.#unknownTypes.add(key);
    this.#options.onWarning?.(
      new ProtocolError(
        `ignored pillion messages of unknown type ${key} from "${this.#peer}" (known: call, error, methodAdded, methodRemoved)`,
      ),
    );
  }

  #onError(message: Record<string, unknown>): void {
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

  #onMethod(message: Record<string, unknown>, added: boolean): void {
    const { type, name } = message;
    if (typeof name !== 'string' || name === '') {
      this.#options.onWarning?.(
        new ProtocolError(`ignored a ${preview(type)} message without a non-empty string name`),
      );
      return;
    }
    if (!added) {
      if (this.#remote.delete(name)) {
        this.#remoteBytes -= Buffer.byteLength(name);
        this.#options.onRemoteMethod?.('remove', name);
      }
      return;
    }
    if (this.#remote.has(name)) return;
    const bytes = Buffer.byteLength(name);
    const maxBytes = this.#options.maxRemoteMethodBytes ?? DEFAULT_REMOTE_METHOD_BYTES;
    const max = this.#options.maxRemoteMethods;
    if (this.#remote.size >= max || this.#remoteBytes + bytes > maxBytes) {
      if (!this.#limitReported) {
        this.#limitReported = true;
        this.#options.onWarning?.(
          new ProtocolError(
            `"${this.#peer}" announced more methods than remembered (${max} names, ${maxBytes} bytes of names): further announcements are ignored; the methods stay callable`,
          ),
        );
      }
      return;
    }
    this.#remote.add(name);
    this.#remoteBytes += bytes;
    this.#options.onRemoteMethod?.('add', name);
  }

  /**
   * A function that calls the remote callback `name`. It never throws into the code that calls
   * it: a reply that cannot be sent (over maxFrameSize, no JSON form) fails the call `reply`
   * answers, with an `error` message to the caller and a warning here.
   */
  #remoteFunction(name: string, track?: ReplyTrack, reply?: ReplyTo): RemoteFunction {
    return (...args: unknown[]) => {
      if (track) {
        track.replied = true;
        track.timer?.end();
      }
      if (this.#closed) return;
      try {
        this.#issue(name, args);
      } catch (err) {
        if (!reply) throw err;
        this.#replyError(reply.id, `method \`${reply.method}' failed: its reply ${messageOf(err)}`);
        this.#options.onWarning?.(new ReplyFailedError(reply.method, this.#peer, { cause: err }));
      }
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
