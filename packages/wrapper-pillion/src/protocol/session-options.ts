import type { SidecarError } from '@sidecar/core';

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
   * Sends one message, given as its JSON text (the session builds the text itself: no message
   * object is made for the calls and replies of the hot path). May throw FrameTooLargeError.
   */
  send(json: string): void;
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
export const MAX_UNKNOWN_TYPES_REPORTED = 16;
/** Method-name bytes remembered by default (see `maxRemoteMethodBytes`). */
export const DEFAULT_REMOTE_METHOD_BYTES = 1024 * 1024;
