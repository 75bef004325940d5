import { InvalidConfigError } from '@sidecar/core';
import { checkMaxFrameSize, DEFAULT_MAX_FRAME_SIZE } from './codec/frame.js';

/** Default most callbacks pending on one stream before the oldest is dropped. */
export const DEFAULT_MAX_PENDING_CALLBACKS = 10_000;
/** Default longest time a callback waits to be invoked, in ms (5 minutes). */
export const DEFAULT_CALLBACK_TTL = 300_000;
/** Default most remote methods one stream remembers from methodAdded announcements. */
export const DEFAULT_MAX_REMOTE_METHODS = 10_000;
/** Default most bytes of method names (UTF-8) one stream remembers from announcements (1 MiB). */
export const DEFAULT_MAX_REMOTE_METHOD_BYTES = 1024 * 1024;
/** Default bytes queued for the peer (not yet taken by the socket) above which reading stops (8 MiB). */
export const DEFAULT_MAX_WRITE_BUFFER = 8 * 1024 * 1024;

/** Options of `pillion()` (also accepted by `new PillionStream`). */
export interface PillionOptions {
  /**
   * Largest burro frame accepted or sent, in bytes. A bigger incoming frame errors the stream; a
   * bigger outgoing call throws at the call; a bigger reply fails that call only (the caller gets
   * an `error` message, this side a `warning` event). @default 16777216 (16 MiB)
   */
  maxFrameSize?: number;
  /**
   * Most callbacks (temporary methods) pending on one stream; beyond it the oldest is dropped and
   * its promise call rejects with CallbackDroppedError. @default 10000
   */
  maxPendingCallbacks?: number;
  /**
   * Longest time a callback waits to be invoked, in ms; it is then dropped and its promise call
   * rejects with TimeoutError. Also the default `timeout` of promise calls. @default 300000
   */
  callbackTtl?: number;
  /**
   * Most methods one stream remembers from the peer's methodAdded messages; more are ignored
   * with a `warning` event (they stay callable). @default 10000
   */
  maxRemoteMethods?: number;
  /**
   * Most bytes of method names (UTF-8, summed) one stream remembers from the peer's
   * announcements; more are ignored with a `warning` event. @default 1048576 (1 MiB)
   */
  maxRemoteMethodBytes?: number;
  /**
   * Bytes waiting to be sent to the peer above which this stream stops reading its calls, until
   * the peer reads again: a caller that never reads its replies cannot grow this side's memory.
   * @default 8388608 (8 MiB)
   */
  maxWriteBuffer?: number;
}

/** PillionOptions with every default applied. */
export type ResolvedPillionOptions = Required<PillionOptions>;

function positiveInteger(value: number | undefined, fallback: number, key: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new InvalidConfigError(`pillion option ${key} must be a positive integer, got ${String(value)}`);
  }
  return v;
}

/** Applies the defaults and checks every option; throws InvalidConfigError for bad values. */
export function resolveOptions(options: PillionOptions = {}): ResolvedPillionOptions {
  const maxFrameSize = positiveInteger(options.maxFrameSize, DEFAULT_MAX_FRAME_SIZE, 'maxFrameSize');
  try {
    checkMaxFrameSize(maxFrameSize);
  } catch (err) {
    throw new InvalidConfigError(`pillion option ${(err as Error).message}`);
  }
  return {
    maxFrameSize,
    maxPendingCallbacks: positiveInteger(
      options.maxPendingCallbacks,
      DEFAULT_MAX_PENDING_CALLBACKS,
      'maxPendingCallbacks',
    ),
    callbackTtl: positiveInteger(options.callbackTtl, DEFAULT_CALLBACK_TTL, 'callbackTtl'),
    maxRemoteMethods: positiveInteger(
      options.maxRemoteMethods,
      DEFAULT_MAX_REMOTE_METHODS,
      'maxRemoteMethods',
    ),
    maxRemoteMethodBytes: positiveInteger(
      options.maxRemoteMethodBytes,
      DEFAULT_MAX_REMOTE_METHOD_BYTES,
      'maxRemoteMethodBytes',
    ),
    maxWriteBuffer: positiveInteger(options.maxWriteBuffer, DEFAULT_MAX_WRITE_BUFFER, 'maxWriteBuffer'),
  };
}
