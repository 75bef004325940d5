import { Duplex } from 'node:stream';
import {
  ConnectionClosedError,
  isSidecarError,
  LazyStream,
  type PeerInfo,
  type WrapperContext,
} from '@sidecar/core';
import { FrameBatch, FrameDecoder } from '../codec/frame.js';
import { type PillionOptions, type ResolvedPillionOptions, resolveOptions } from '../options.js';
import { splitCallArgs } from '../protocol/call-args.js';
import type { CallMessage, PillionMessage } from '../protocol/messages.js';
import type { RemoteFunction } from '../protocol/pending.js';
import { type CallOptions, PillionSession } from '../protocol/session.js';

type Callback = (error?: Error | null) => void;

/**
 * An RPC stream: pillion messages in burro frames over the Duplex it wraps (usually a
 * connection made by sidecar). It is itself an object-mode Duplex: writing a value sends it as
 * a raw frame; its readable side carries no data and ends when the peer ends. A stream from
 * `to(name)` connects on first use (any call, `provide`, `open()` or read).
 *
 * Events besides the Duplex ones: `callError` (error, method) when a callRemote call is
 * answered with an error; `methodError` (error, method) when a provided method or callback of
 * this side threw (the caller is told); `methodAdded` / `methodRemoved` (name) when the peer
 * announces a change. `error` is only emitted when the stream has an `error` listener; otherwise
 * a failed stream just closes (pending calls reject, `stream.failure` holds the reason), so an
 * RPC client never crashes its process.
 *
 * @example
 * ```ts
 * const billing = app.to('billing');
 * billing.provide('log', (line, cb) => { console.log(line); cb(); });
 * billing.callRemote('charge', 10, (receipt) => console.log(receipt));
 * const receipt = await billing.call('charge', 10, { timeout: 2000 });
 * ```
 */
export class PillionStream extends Duplex {
  /** The name of the peer at the other end (as asked for, or as the caller named itself). */
  readonly remoteName: string;
  /** The peer, once connected. */
  peer: PeerInfo | undefined;
  /** Why the stream failed, if it did. */
  failure: Error | undefined;

  readonly #input: Duplex;
  readonly #options: ResolvedPillionOptions;
  readonly #session: PillionSession;
  readonly #decoder: FrameDecoder;
  readonly #batch: FrameBatch;
  readonly #receive: (message: unknown) => void;
  #flushScheduled = false;
  #started = false;
  #connected: boolean;

  constructor(input: Duplex, context: Partial<WrapperContext> = {}, options: PillionOptions = {}) {
    super({ objectMode: true, allowHalfOpen: true });
    this.#input = input;
    this.#options = resolveOptions(options);
    this.remoteName = context.peer?.name ?? context.remoteName ?? 'peer';
    this.peer = context.peer;
    this.#decoder = new FrameDecoder(this.#options.maxFrameSize);
    this.#batch = new FrameBatch(this.#options.maxFrameSize);
    this.#session = new PillionSession({
      send: (message) => this.#send(message),
      peerName: () => this.peer?.name ?? this.remoteName,
      maxPendingCallbacks: this.#options.maxPendingCallbacks,
      callbackTtl: this.#options.callbackTtl,
      maxRemoteMethods: this.#options.maxRemoteMethods,
      onCallError: (error, method) => this.emit('callError', error, method),
      onMethodError: (error, method) => this.emit('methodError', error, method),
      onRemoteMethod: (change, name) => this.emit(change === 'add' ? 'methodAdded' : 'methodRemoved', name),
    });
    this.#receive = (message) => this.#session.receive(message);
    const lazy = input instanceof LazyStream ? input : undefined;
    this.#connected = !lazy || lazy.peer !== undefined;
    lazy?.once('connect', (peer: PeerInfo) => {
      this.#connected = true;
      this.peer = peer;
    });
    input.on('error', (err) => this.#fail(err));
    input.once('end', () => this.#remoteEnded());
    input.once('close', () => this.#fail(undefined));
    if (this.#connected) this.#start();
  }

  /** Provides method `name` to the peer (announced at once; replaces an earlier `fn`). */
  provide(name: string, fn: RemoteFunction): this {
    this.#session.provide(name, fn);
    this.#start();
    return this;
  }

  /** Stops providing `name` (announced with removeMethod); false if it was not provided. */
  unprovide(name: string): boolean {
    return this.#session.unprovide(name);
  }

  /**
   * Calls a remote method with the original's callback API: function arguments become one-shot
   * callbacks the peer can invoke. Returns the call message sent. Throws ConnectionClosedError
   * on a closed stream. A missing method is reported by a `callError` event.
   */
  callRemote(name: string, ...args: unknown[]): CallMessage {
    this.#start();
    return this.#session.callRemote(name, args);
  }

  /**
   * Calls a remote method and resolves with what it passes to its callback: the value when it
   * passes one argument (or `undefined` for none), an array of all of them when it passes two or
   * more. A trailing `{ timeout?, signal? }` object is taken as call options (use `request` to
   * send such an object as a real argument). Rejects with MethodNotFoundError, RemoteError,
   * TimeoutError, AbortError or ConnectionClosedError (or the connection's own error, e.g.
   * PeerNotFoundError, if the stream never connected).
   */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    const { params, options } = splitCallArgs(args);
    return this.request<T>(name, params, options);
  }

  /** Like `call`, with the arguments as an array and the options separate (no guessing). */
  request<T = unknown>(name: string, args: readonly unknown[], options: CallOptions = {}): Promise<T> {
    this.#start();
    return this.#session.call(name, args, options) as Promise<T>;
  }

  /** Methods the peer announced and did not withdraw. */
  get remoteMethods(): ReadonlySet<string> {
    return this.#session.remoteMethods;
  }

  /** Methods this side provides on this stream. */
  get providedMethods(): ReadonlySet<string> {
    return this.#session.providedMethods;
  }

  /** Callbacks handed to the peer and not invoked yet. */
  get pendingCallbacks(): number {
    return this.#session.pendingCallbacks;
  }

  /** Starts reading (and connects a stream from `to()`) without making a call. */
  open(): this {
    this.#start();
    return this;
  }

  override _read(): void {
    this.#start();
  }

  override _write(value: unknown, _encoding: BufferEncoding, callback: Callback): void {
    this.#start();
    try {
      this.#batch.add(value);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.#scheduleFlush();
    callback();
  }

  override _final(callback: Callback): void {
    this.#flush();
    this.#input.end();
    callback();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#session.close(this.#rejection(error ?? this.failure));
    this.#batch.clear();
    if (!this.#input.destroyed) this.#input.destroy();
    callback(error);
  }

  #start(): void {
    if (this.#started || this.destroyed) return;
    this.#started = true;
    this.#input.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#session.start();
  }

  #onData(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk, this.#receive);
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  #send(message: PillionMessage): void {
    this.#batch.add(message);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#batch.size === 0) return;
    const input = this.#input;
    if (input.destroyed || input.writableEnded) {
      this.#batch.clear();
      return;
    }
    input.write(this.#batch.take());
  }

  #remoteEnded(): void {
    this.#session.close(new ConnectionClosedError(`"${this.remoteName}" ended the stream before answering`));
    this.push(null);
    if (!this.writableEnded) this.end();
  }

  #fail(error: Error | undefined): void {
    if (this.destroyed) return;
    this.failure = error;
    this.destroy(error && this.listenerCount('error') > 0 ? error : undefined);
  }

  /** What pending calls reject with: a connect failure as is, anything later as ConnectionClosedError. */
  #rejection(error: Error | null | undefined): Error {
    if (error && !this.#connected && isSidecarError(error) && !(error instanceof ConnectionClosedError)) {
      return error;
    }
    if (error instanceof ConnectionClosedError) return error;
    const why = error ? `: ${error.message}` : '';
    return new ConnectionClosedError(`the stream to "${this.peer?.name ?? this.remoteName}" closed${why}`, {
      cause: error ?? undefined,
    });
  }
}
