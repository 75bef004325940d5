import { Duplex } from 'node:stream';
import { ConnectionClosedError, isSidecarError, type PeerInfo, type WrapperContext } from '@sidecar/core';
import { FrameDecoder } from '../codec/frame.js';
import { parseMessage } from '../codec/parse-message.js';
import { type PillionOptions, type ResolvedPillionOptions, resolveOptions } from '../options.js';
import { isCallOptions, splitCallArgs } from '../protocol/call-args.js';
import type { CallMessage } from '../protocol/messages.js';
import type { RemoteFunction } from '../protocol/pending.js';
import { type CallOptions, PillionSession } from '../protocol/session.js';
import { Outbox } from './outbox.js';

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
  readonly #context: Partial<WrapperContext>;
  /** The stream read now: the input, or the connection under it once taken (see #takeConnection). */
  #reading: Duplex;
  readonly #onData = (chunk: Buffer) => this.#decode(chunk);
  readonly #session: PillionSession;
  readonly #decoder: FrameDecoder;
  readonly #outbox: Outbox;
  readonly #receive: (message: unknown) => void;
  #started = false;
  #ended = false;
  #connected: boolean;

  constructor(input: Duplex, context: Partial<WrapperContext> = {}, options: PillionOptions = {}) {
    super({ objectMode: true, allowHalfOpen: true });
    const resolved: ResolvedPillionOptions = resolveOptions(options);
    this.#input = input;
    this.#reading = input;
    this.#context = context;
    this.remoteName = context.peer?.name ?? context.remoteName ?? 'peer';
    this.peer = context.peer;
    this.#decoder = new FrameDecoder(resolved.maxFrameSize, parseMessage);
    this.#outbox = new Outbox(input, resolved.maxFrameSize, resolved.maxWriteBuffer, {
      reading: () => this.#reading,
      alive: () => !this.destroyed,
    });
    this.#session = new PillionSession({
      send: (json) => this.#outbox.addJson(json),
      peerName: () => this.peer?.name ?? this.remoteName,
      owner: context.local?.instanceId ?? '',
      maxPendingCallbacks: resolved.maxPendingCallbacks,
      callbackTtl: resolved.callbackTtl,
      maxRemoteMethods: resolved.maxRemoteMethods,
      maxRemoteMethodBytes: resolved.maxRemoteMethodBytes,
      onWarning: (error) => this.emit('warning', error),
      onCallError: (error, method) => this.emit('callError', error, method),
      onMethodError: (error, method) => this.emit('methodError', error, method),
      onRemoteMethod: (change, name) => this.emit(change === 'add' ? 'methodAdded' : 'methodRemoved', name),
    });
    this.#receive = (message) => this.#session.receive(message);
    // Without a sidecar's context (the original's `new pillion(socket)`) the input is connected.
    this.#connected = context.connected === undefined || context.peer !== undefined;
    context.connected?.then(
      (peer) => {
        this.#connected = true;
        this.peer = peer;
      },
      () => {},
    );
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
      this.#outbox.add(value);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.#outbox.whenRoom(callback);
  }

  override _final(callback: Callback): void {
    this.#outbox.flush();
    this.#input.end();
    callback();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#session.close(this.#rejection(error ?? this.failure));
    this.#outbox.clear();
    if (!this.#input.destroyed) this.#input.destroy();
    callback(error);
  }

  /** True while reading is paused because the peer does not read (see `maxWriteBuffer`). */
  get throttled(): boolean {
    return this.#outbox.throttled;
  }

  /**
   * Starts reading the input (which connects a stream from `to()`), and announces the methods
   * provided. As the first wrapper of a sidecar's chain, it then takes the connection itself.
   */
  #start(): void {
    if (this.#started || this.destroyed) return;
    this.#started = true;
    this.#input.on('data', this.#onData);
    this.#session.start();
    this.#context.takeConnection?.().then(
      (socket) => this.#takeConnection(socket),
      () => {}, // never connected: the input fails with the reason
    );
  }

  /**
   * Reads the connection directly from now on, skipping the per-chunk hop of the stream `to()`
   * returned (core hands it over only when that stream holds no unread data: nothing is lost or
   * reordered). Writes go to it directly too, once earlier ones have left the input.
   */
  #takeConnection(socket: Duplex | undefined): void {
    if (!socket || socket === this.#input || this.destroyed) return;
    this.#input.off('data', this.#onData);
    this.#reading = socket;
    this.#outbox.useSocket(socket);
    socket.on('data', this.#onData);
    socket.once('end', () => this.#remoteEnded());
    if (!this.#outbox.throttled) socket.resume();
  }

  #decode(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk, this.#receive);
    } catch (err) {
      this.#fail(err as Error);
    }
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
