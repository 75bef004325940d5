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
