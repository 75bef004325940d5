import type { Duplex } from 'node:stream';
import type { PeerInfo } from '../records.js';

/** What a wrapper knows about the stream it wraps. */
export interface WrapperContext {
  /** `outgoing` for streams this side opened with `to()`/`connect()`, `incoming` for accepted ones. */
  direction: 'incoming' | 'outgoing';
  /** This side. */
  local: PeerInfo;
  /** The name of the other side (the name asked for, or the caller's name). */
  remoteName: string;
  /** The other side, once connected (always set for incoming and `connect()` streams). */
  peer?: PeerInfo;
  /** Resolves with the other side when the connection is made (rejects if it never is). */
  connected: Promise<PeerInfo>;
  /**
   * Hands the connection itself to the first wrapper of the chain, so it can read the socket
   * directly rather than through the stream `to()` returns at once and connects later (one
   * Duplex hop less per chunk). Resolves once connected: with the socket, or `undefined` when
   * this wrapper is not the first of the chain, the socket was taken already, or the stream
   * holds data not read yet. Once it has the socket, the wrapper reads the socket and no longer
   * the stream it was given; it may write to either (writes queued on the stream go first).
   *
   * @example
   * ```ts
   * const wrapper: StreamWrapper = (stream, context) => {
   *   void context.takeConnection().then((socket) => (socket ?? stream).on('data', onData));
   *   return stream;
   * };
   * ```
   */
  takeConnection(): Promise<Duplex | undefined>;
}

/**
 * A stream wrapper: applied in order, on both sides, to every stream. It receives the stream
 * produced by the previous wrapper (the connection first) and returns the stream users see.
 *
 * @example
 * ```ts
 * const upper: StreamWrapper = (stream) => stream.pipe(new Transform({ ... }));
 * app.addStreamWrapper(upper);
 * ```
 */
export type StreamWrapper<In extends Duplex = Duplex, Out extends Duplex = Duplex> = (
  stream: In,
  context: WrapperContext,
) => Out;
