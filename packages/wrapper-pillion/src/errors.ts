import { SidecarError } from '@sidecar/core';

/**
 * The remote side does not provide the method that was called: it answered with the pillion
 * message `{"type":"error","error":"method `N' not found"}`.
 *
 * @example
 * ```ts
 * try { await app.to('billing').call('charge', 10); }
 * catch (err) { if (err instanceof MethodNotFoundError) console.log(err.method, 'is missing'); }
 * ```
 */
export class MethodNotFoundError extends SidecarError {
  readonly code = 'SIDECAR_ERR_METHOD_NOT_FOUND';
  constructor(
    /** The method that was called. */
    readonly method: string,
    /** The peer that was called. */
    readonly peerName: string,
  ) {
    super(
      `peer "${peerName}" does not provide method "${method}"; check the name, or have the peer provide() it (stream.remoteMethods lists what it announced)`,
    );
  }
}

/** The remote side answered a call with an `error` message other than "not found" (e.g. the method threw). */
export class RemoteError extends SidecarError {
  readonly code = 'SIDECAR_ERR_REMOTE';
  constructor(
    /** The method that was called (empty when the call is unknown). */
    readonly method: string,
    /** The peer that answered. */
    readonly peerName: string,
    /** The remote's error text, as sent. */
    readonly remoteMessage: string,
  ) {
    super(`peer "${peerName}" failed the call to "${method}": ${remoteMessage}`);
  }
}

/** A callback was dropped because more than `maxPendingCallbacks` were waiting on its stream. */
export class CallbackDroppedError extends SidecarError {
  readonly code = 'SIDECAR_ERR_CALLBACK_DROPPED';
  override readonly retryable = true;
  constructor(
    readonly method: string,
    readonly limit: number,
  ) {
    super(
      `the reply to "${method}" was dropped: more than ${limit} callbacks were pending on the stream; raise maxPendingCallbacks or call less at once`,
    );
  }
}

/**
 * A reply (a call of the caller's callback) could not be sent, e.g. it is over `maxFrameSize`:
 * that one call failed (the caller was sent an `error` message), the stream goes on. Emitted as
 * a `warning` event on the stream, never thrown into the method that replied.
 */
export class ReplyFailedError extends SidecarError {
  readonly code = 'SIDECAR_ERR_REPLY_FAILED';
  constructor(
    /** The method whose reply failed. */
    readonly method: string,
    /** The peer the reply was for. */
    readonly peerName: string,
    options: { cause: unknown },
  ) {
    super(
      `the reply of "${method}" to "${peerName}" could not be sent (${messageOf(options.cause)}); the caller was told the call failed`,
      options,
    );
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A method URI (`namespace://peer/method`) cannot be used. */
export class InvalidMethodUriError extends SidecarError {
  readonly code = 'SIDECAR_ERR_INVALID_METHOD_URI';
  constructor(
    readonly uri: string,
    reason: string,
  ) {
    super(`invalid method URI ${JSON.stringify(uri)}: ${reason}`);
  }
}

/** Every error code this package defines. */
export type PillionErrorCode =
  | MethodNotFoundError['code']
  | RemoteError['code']
  | CallbackDroppedError['code']
  | ReplyFailedError['code']
  | InvalidMethodUriError['code'];
