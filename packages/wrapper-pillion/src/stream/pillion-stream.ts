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
import { isCallOptions, splitCallArgs } from '../protocol/call-args.js';
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
 * announces a change (the original's events); `warning` (error) when something was ignored or
 * one call failed without closing the stream (a message of unknown type, announcements over the
 * limits, a reply over `maxFrameSize`: ReplyFailedError). `error` is only emitted when the stream has an `error` listener; otherwise
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
  /** The input when it is a LazyStream (from `to(name)`). */
  readonly #lazy: LazyStream | undefined;
  /** The LazyStream's socket once this stream reads and writes it directly (see #takeOver). */
  #socket: Duplex | undefined;
  readonly #onData = (chunk: Buffer) => this.#decode(chunk);
  readonly #flushNow = () => this.#flush();
  readonly #options: ResolvedPillionOptions;
  readonly #session: PillionSession;
  readonly #decoder: FrameDecoder;
  readonly #batch: FrameBatch;
  readonly #receive: (message: unknown) => void;
  #flushScheduled = false;
  /** Reading is paused because more than maxWriteBuffer bytes wait to be sent. */
  #throttled = false;
  readonly #onDrain = () => this.#unthrottle();
  #started = false;
  #ended = false;
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
      send: (message, json) => this.#send(message, json),
      peerName: () => this.peer?.name ?? this.remoteName,
      owner: context.local?.instanceId ?? '',
      maxPendingCallbacks: this.#options.maxPendingCallbacks,
      callbackTtl: this.#options.callbackTtl,
      maxRemoteMethods: this.#options.maxRemoteMethods,
      maxRemoteMethodBytes: this.#options.maxRemoteMethodBytes,
      onWarning: (error) => this.emit('warning', error),
      onCallError: (error, method) => this.emit('callError', error, method),
      onMethodError: (error, method) => this.emit('methodError', error, method),
      onRemoteMethod: (change, name) => this.emit(change === 'add' ? 'methodAdded' : 'methodRemoved', name),
    });
    this.#receive = (message) => this.#session.receive(message);
    const lazy = input instanceof LazyStream ? input : undefined;
    this.#lazy = lazy;
    this.#connected = !lazy || lazy.peer !== undefined;
    lazy?.once('connect', (peer: PeerInfo) => {
      this.#connected = true;
      this.peer = peer;
      if (this.#started) this.#listen();
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

  /** The original's `applyRemote(name, params)`: `callRemote` with the arguments as an array. */
  applyRemote(name: string, params: readonly unknown[]): CallMessage {
    this.#start();
    return this.#session.callRemote(name, params);
  }

  /**
   * The original's `bindRemote(name, ...args)`: a function that calls the remote method with
   * `args` followed by its own arguments, and returns the call message sent.
   *
   * @example
   * ```ts
   * const greet = stream.bindRemote('greet', 'bob');
   * greet((text) => console.log(text));
   * ```
   */
  bindRemote(name: string, ...args: unknown[]): (...more: unknown[]) => CallMessage {
    return (...more) => this.callRemote(name, ...args, ...more);
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
    if (args.length > 0 && isCallOptions(args[args.length - 1])) {
      const { params, options } = splitCallArgs(args);
      return this.request<T>(name, params, options);
    }
    return this.request<T>(name, args);
  }

  /** Like `call`, with the arguments as an array and the options separate (no guessing). */
  request<T = unknown>(name: string, args: readonly unknown[], options?: CallOptions): Promise<T> {
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
    // A LazyStream not connected yet: connect now, and read once 'connect' has fired.
    if (this.#lazy && this.#lazy.peer === undefined) this.#lazy.open();
    else this.#listen();
    this.#session.start();
  }

  /** Starts reading: the LazyStream's socket itself when it can be taken over, else the input. */
  #listen(): void {
    if (!this.#takeOver()) this.#input.on('data', this.#onData);
  }

  /**
   * Reads and writes a connected LazyStream's socket directly, skipping its per-chunk Duplex hop
   * (LazyStream.detach hands the socket's readable side over; it refuses when it holds unread
   * data, and the hop then stays).
   */
  #takeOver(): boolean {
    const socket = this.#lazy?.detach();
    if (!socket) return false;
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.once('end', () => this.#remoteEnded());
    socket.resume();
    return true;
  }

  #decode(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk, this.#receive);
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  #send(message: PillionMessage, json: string | undefined): void {
    if (json === undefined) this.#batch.add(message);
    else this.#batch.addJson(json);
    this.#scheduleFlush();
  }

  /** Frames sent in one tick go out together, in one buffer (one write, one syscall). */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(this.#flushNow);
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#batch.size === 0) return;
    const input = this.#input;
    if (input.destroyed || input.writableEnded) {
      this.#batch.clear();
      return;
    }
    // Straight to the socket when taken over, unless earlier writes still wait in the LazyStream.
    const socket = this.#socket;
    if (socket && input.writableLength === 0 && !socket.destroyed) socket.write(this.#batch.take());
    else input.write(this.#batch.take());
    if (!this.#throttled && this.#queued() > this.#options.maxWriteBuffer) this.#throttle();
  }

  /** Bytes written and not yet taken by the socket. */
  #queued(): number {
    return this.#input.writableLength + (this.#socket?.writableLength ?? 0);
  }

  /**
   * Stops reading calls while the peer does not read what this side sends (backpressure bounded
   * by maxWriteBuffer bytes): replies cannot pile up without limit. Reading resumes on 'drain'.
   */
  #throttle(): void {
    this.#throttled = true;
    (this.#socket ?? this.#input).pause();
    this.#input.on('drain', this.#onDrain);
    this.#socket?.on('drain', this.#onDrain);
  }

  #unthrottle(): void {
    if (!this.#throttled || this.#queued() > this.#options.maxWriteBuffer) return;
    this.#throttled = false;
    this.#input.off('drain', this.#onDrain);
    this.#socket?.off('drain', this.#onDrain);
    if (!this.destroyed) (this.#socket ?? this.#input).resume();
  }

  /** True while reading is paused because the peer does not read (see `maxWriteBuffer`). */
  get throttled(): boolean {
    return this.#throttled;
  }

  #remoteEnded(): void {
    if (this.#ended) return;
    this.#ended = true;
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
