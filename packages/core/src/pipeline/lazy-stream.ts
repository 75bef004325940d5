import { Duplex } from 'node:stream';
import { ConnectionClosedError } from '../errors.js';
import type { PeerInfo } from '../records.js';

type Callback = (error?: Error | null) => void;

/** What a LazyStream calls to get its connection. */
export type Connect = (signal: AbortSignal) => Promise<{ socket: Duplex; peer: PeerInfo }>;

/**
 * The Duplex that `to(name)` returns at once. The connection is made on first use (a read, a
 * write or `end()`); writes made before it exists wait, and the writable side's high-water mark
 * applies backpressure meanwhile. A failed connection destroys the stream with the typed error.
 * After connecting, chunks pass straight through to and from the socket.
 */
export class LazyStream extends Duplex {
  /** Resolves with the peer once connected; rejects with the error the stream is destroyed with. */
  readonly connected: Promise<PeerInfo>;
  /** The peer, once connected. */
  peer: PeerInfo | undefined;

  readonly #connect: Connect;
  readonly #abort = new AbortController();
  #socket: Duplex | undefined;
  #connecting = false;
  #detached = false;
  #waiting: Array<() => void> = [];
  #resolve!: (peer: PeerInfo) => void;
  #reject!: (err: Error) => void;

  constructor(connect: Connect) {
    super({ allowHalfOpen: true });
    this.#connect = connect;
    this.connected = new Promise<PeerInfo>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.connected.catch(() => {});
  }

  /**
   * The connected transport stream, once `connect` has fired (undefined before). A wrapper may
   * read and write it directly after connecting, to skip this stream's per-chunk hop; it must
   * then not also use this stream's own read and write sides.
   */
  get socket(): Duplex | undefined {
    return this.#socket;
  }

  /** Starts connecting now instead of on first use. */
  open(): this {
    this.#start();
    return this;
  }

  #start(): void {
    if (this.#connecting || this.destroyed) return;
    this.#connecting = true;
    this.#connect(this.#abort.signal).then(
      ({ socket, peer }) => this.#attach(socket, peer),
      (err: Error) => this.destroy(err),
    );
  }

  #attach(socket: Duplex, peer: PeerInfo): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    this.peer = peer;
    socket.on('data', this.#onData);
    socket.once('end', this.#onEnd);
    socket.once('error', (err) => this.destroy(err));
    socket.once('close', () => {
      if (!this.destroyed && !(socket.readableEnded && socket.writableFinished)) {
        this.destroy(new ConnectionClosedError(`the connection to "${peer.name}" closed unexpectedly`));
      } else if (this.#detached && !this.destroyed) {
        this.destroy(); // its readable side never ends by itself once detached
      }
    });
    this.emit('connect', peer);
    this.#resolve(peer);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const run of waiting) run();
  }

  #whenConnected(run: () => void): void {
    if (this.#socket) run();
    else {
      this.#waiting.push(run);
      this.#start();
    }
  }

  readonly #onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.#socket?.pause();
  };

  readonly #onEnd = (): void => {
    this.push(null);
  };

  /**
   * Hands the connected socket's readable side to the caller, who reads it directly from now on
   * (skipping this stream's per-chunk hop): this stream stops reading from it. Writes may still go
   * through this stream (queued ones flush first) or to the socket once `writableLength` is 0.
   * Returns undefined when not connected yet, already detached, or when this stream holds unread data.
   */
  detach(): Duplex | undefined {
    const socket = this.#socket;
    if (!socket || this.#detached || this.readableLength > 0) return undefined;
    this.#detached = true;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    return socket;
  }

  override _read(): void {
    this.#whenConnected(() => {
      if (!this.#detached) this.#socket?.resume();
    });
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: Callback): void {
    this.#whenConnected(() => {
      const socket = this.#socket as Duplex;
      if (socket.write(chunk, encoding)) callback();
      else socket.once('drain', () => callback());
    });
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: Callback): void {
    this.#whenConnected(() => {
      const socket = this.#socket as Duplex;
      let ok = true;
      for (const { chunk, encoding } of chunks) ok = socket.write(chunk, encoding);
      if (ok) callback();
      else socket.once('drain', () => callback());
    });
  }

  override _final(callback: Callback): void {
    this.#whenConnected(() => {
      const socket = this.#socket as Duplex;
      socket.end(() => callback());
    });
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#abort.abort(error ?? undefined);
    this.#socket?.destroy();
    if (!this.peer) this.#reject(error ?? new Error('the stream was closed before it connected'));
    this.#waiting = [];
    callback(error);
  }
}
