import { ProtocolError } from '@sidecar/core';
import { endRpcTimer } from '@sidecar/core/diagnostics';
import { ReplyFailedError } from '../errors.js';
import { Caller } from './caller.js';
import { checkCall, type InvokeHost, invokeProvided, messageOf, type ReplyTo } from './invoke.js';
import { type CallMessage, isObject, notFoundText, preview } from './messages.js';
import type { RemoteFunction } from './pending.js';
import { RemoteMethods } from './remote-methods.js';
import {
  type CallOptions,
  DEFAULT_REMOTE_METHOD_BYTES,
  MAX_UNKNOWN_TYPES_REPORTED,
  type SessionOptions,
} from './session-options.js';

export type { CallOptions, SessionOptions } from './session-options.js';

/**
 * The pillion message handler, independent of streams: `receive()` takes decoded messages,
 * `options.send` emits them. It serves the provided methods and hands calls of this side's
 * callbacks to its Caller (calls made, callbacks pending, the promise API); the remote side's
 * announcements go to RemoteMethods. `receive` throws ProtocolError
 * for input that breaks the protocol beyond an answer (the stream should then be closed); bad
 * calls that carry an id are answered with an `error` message instead.
 */
export class PillionSession {
  readonly #options: SessionOptions;
  readonly #owner: string;
  readonly #provided = new Map<string, RemoteFunction>();
  readonly #remote: RemoteMethods;
  readonly #unknownTypes = new Set<string>();
  readonly #caller: Caller;
  readonly #host: InvokeHost = {
    remoteFunction: (name, call, isReply) => this.#remoteFunction(name, call, isReply),
    failed: (id, method, err) => this.#methodFailed(id, method, err),
  };
  #started = false;
  #closed: Error | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#owner = options.owner ?? '';
    this.#caller = new Caller(options);
    this.#remote = new RemoteMethods(
      options.maxRemoteMethods,
      options.maxRemoteMethodBytes ?? DEFAULT_REMOTE_METHOD_BYTES,
      { peerName: options.peerName, onChange: options.onRemoteMethod, onWarning: options.onWarning },
    );
  }

  /** Methods this side provides. */
  get providedMethods(): ReadonlySet<string> {
    return new Set(this.#provided.keys());
  }

  /** Methods the remote side announced and did not withdraw. */
  get remoteMethods(): ReadonlySet<string> {
    return this.#remote.names;
  }

  /** Callbacks handed out and not invoked, dropped or released yet. */
  get pendingCallbacks(): number {
    return this.#caller.pendingCallbacks;
  }

  /** Why the session closed, once it has. */
  get closedWith(): Error | undefined {
    return this.#closed;
  }

  /** Announces every provided method; later provide/unprovide calls are announced as they happen. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const name of this.#provided.keys()) this.#announce('methodAdded', name);
  }

  /** Provides (or replaces) method `name`. */
  provide(name: string, fn: RemoteFunction): void {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('a method name must be a non-empty string');
    if (typeof fn !== 'function') throw new TypeError(`provide("${name}", fn): fn must be a function`);
    const isNew = !this.#provided.has(name);
    this.#provided.set(name, fn);
    if (isNew) this.#announce('methodAdded', name);
  }

  /** Stops providing method `name`; false if it was not provided. */
  unprovide(name: string): boolean {
    if (!this.#provided.delete(name)) return false;
    this.#announce('methodRemoved', name);
    return true;
  }

  /** Sends a call (the original's API): function parameters become one-shot callbacks. */
  callRemote(method: string, params: readonly unknown[]): CallMessage {
    return this.#caller.callRemote(method, params);
  }

  /** Calls `method` with `args` plus a callback, and resolves with what the callback receives. */
  call(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    return this.#caller.call(method, args, options);
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
        this.#caller.receiveError(message);
        return;
      case 'methodAdded':
      case 'addMethod':
        this.#remote.receive(message, true);
        return;
      case 'methodRemoved':
      case 'removeMethod':
        this.#remote.receive(message, false);
        return;
      default:
        this.#onUnknown(message.type);
    }
  }

  /** Rejects every pending promise call with `error` and frees every callback. Idempotent. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#caller.close(error);
  }

  get #peer(): string {
    return this.#options.peerName();
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
    const entry = this.#caller.take(method);
    if (entry) {
      let args = params;
      if (functions && functions.length > 0) {
        const call: ReplyTo = { id, method, replied: false, rpcStart: -1, rpcOwner: '' };
        args = params.slice();
        for (let i = 0; i < functions.length; i++) {
          const k = functions[i] as number;
          args[k] = this.#remoteFunction((params[k] as { name: string }).name, call, false);
        }
      }
      const call = entry.call;
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
    invokeProvided(this.#host, fn, params, functions, id, method, this.#owner);
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

  /**
   * A function that calls the remote callback `name` for incoming call `call` (its reply, when
   * `isReply`). It never throws into the code that calls it: a reply that cannot be sent (over
   * maxFrameSize, no JSON form) fails `call`, with an `error` message to the caller and a warning here.
   */
  #remoteFunction(name: string, call: ReplyTo, isReply: boolean): RemoteFunction {
    return (...args: unknown[]) => {
      if (isReply) {
        call.replied = true;
        endRpcTimer(call, 'server');
      }
      if (this.#closed) return;
      try {
        this.#caller.callBack(name, args);
      } catch (err) {
        this.#replyError(call.id, `method \`${call.method}' failed: its reply ${messageOf(err)}`);
        this.#options.onWarning?.(new ReplyFailedError(call.method, this.#peer, { cause: err }));
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
      this.#options.send(JSON.stringify({ type: 'error', inResponseTo: id, error: text }));
    } catch {
      // An answer too large to send (an absurd method name) is dropped; the caller times out.
    }
  }

  #announce(type: 'methodAdded' | 'methodRemoved', name: string): void {
    if (this.#started && !this.#closed) this.#options.send(JSON.stringify({ type, name }));
  }
}
