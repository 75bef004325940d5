import { isSidecarError, SidecarError } from './sidecar-error.js';

/** No live instance of the name appeared in the registry within the lookup timeout. */
export class PeerNotFoundError extends SidecarError {
  readonly code = 'SIDECAR_ERR_PEER_NOT_FOUND';
  override readonly retryable = true;
  constructor(
    readonly peerName: string,
    waitedMs: number,
  ) {
    super(
      `no live peer named "${peerName}" in the registry (waited ${waitedMs} ms); start it, or check both sides use the same registry and namespace`,
    );
  }
}

/** At most this many distinct causes are spelled out in a PeerUnreachableError's message. */
const MAX_CAUSES_SHOWN = 5;

/**
 * Instances of the name exist, but every dial (or hello) to them failed. The message is one line
 * that names each distinct cause once, with how often it happened. `retryable` is false when no
 * cause can change by trying again (a refused certificate, a wrong namespace, a dial policy):
 * such a connect fails at once, without waiting for the connect timeout.
 */
export class PeerUnreachableError extends SidecarError {
  readonly code = 'SIDECAR_ERR_PEER_UNREACHABLE';
  override readonly retryable: boolean;
  constructor(
    readonly peerName: string,
    readonly attempts: readonly Error[],
  ) {
    super(`could not reach "${peerName}": ${summarizeAttempts(attempts)}`, {
      cause: attempts[attempts.length - 1],
    });
    this.retryable = attempts.length === 0 || attempts.some((a) => !isSidecarError(a) || a.retryable);
  }
}

/** `N attempts: cause (xK); cause; ...`, each distinct message once, the most frequent first. */
export function summarizeAttempts(attempts: readonly Error[]): string {
  if (attempts.length === 0) return 'no attempt was made';
  const counts = new Map<string, number>();
  for (const a of attempts) counts.set(a.message, (counts.get(a.message) ?? 0) + 1);
  const causes = [...counts].sort((a, b) => b[1] - a[1]);
  const shown = causes
    .slice(0, MAX_CAUSES_SHOWN)
    .map(([message, n]) => (n > 1 ? `${message} (x${n})` : message));
  const more =
    causes.length > MAX_CAUSES_SHOWN ? `; and ${causes.length - MAX_CAUSES_SHOWN} more causes` : '';
  const total = `${attempts.length} attempt${attempts.length === 1 ? '' : 's'}`;
  return `${total}: ${shown.join('; ')}${more}`;
}

/** A transport could not open a connection to an endpoint (refused, unreachable, handshake failed). */
export class DialError extends SidecarError {
  readonly code = 'SIDECAR_ERR_DIAL_FAILED';
  override readonly retryable = true;
}

/**
 * An endpoint was not dialled because the dial policy forbids it: an unspecified (`0.0.0.0`,
 * `::`), broadcast or multicast address, or one the `dialPolicy` option refuses. Not retryable:
 * fix the peer's advertised address (its `advertiseHost`) or the policy.
 */
export class DialPolicyError extends SidecarError {
  readonly code = 'SIDECAR_ERR_DIAL_POLICY';
  constructor(
    readonly endpoint: { transport: string; host: string; port: number },
    reason: string,
  ) {
    super(
      `${endpoint.host}:${endpoint.port} (${endpoint.transport}) not dialled: ${reason}; fix the peer's advertised address or this side's dialPolicy`,
    );
  }
}

/** The peer advertises no transport this side speaks (or policy forbids the ones it offers). */
export class NoCommonTransportError extends SidecarError {
  readonly code = 'SIDECAR_ERR_NO_COMMON_TRANSPORT';
  constructor(
    readonly peerName: string,
    readonly offered: readonly string[],
    readonly spoken: readonly string[],
  ) {
    super(
      `peer "${peerName}" offers [${offered.join(', ')}] but this side speaks [${spoken.join(', ')}]; add a common transport to both sides`,
    );
  }
}

/**
 * The far side answered the hello with a refusal. Only `'wrong-peer'` (another app now holds that
 * address: a stale registry entry) and `'stopping'` are retryable; a wrong namespace, a refused
 * certificate or an identity mismatch are configuration errors that no retry cures.
 */
export class HelloRefusedError extends SidecarError {
  readonly code = 'SIDECAR_ERR_HELLO_REFUSED';
  override readonly retryable: boolean;
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.retryable = reason === 'wrong-peer' || reason === 'stopping';
  }
}

/** Bytes on a connection that do not follow the protocol (garbage, a scanner, HTTP, a bad frame). */
export class ProtocolError extends SidecarError {
  readonly code = 'SIDECAR_ERR_PROTOCOL';
}

/** A frame announced a length over the configured maximum. */
export class FrameTooLargeError extends SidecarError {
  readonly code = 'SIDECAR_ERR_FRAME_TOO_LARGE';
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`frame of ${size} bytes exceeds the maximum of ${max} bytes`);
  }
}

/** An operation did not finish within its time limit. */
export class TimeoutError extends SidecarError {
  readonly code = 'SIDECAR_ERR_TIMEOUT';
  override readonly retryable = true;
}

/** An operation was cancelled through its AbortSignal. */
export class AbortError extends SidecarError {
  readonly code = 'SIDECAR_ERR_ABORTED';
  constructor(reason?: unknown) {
    super('the operation was aborted', { cause: reason });
  }
}

/** Which connection limit a ConnectionLimitError is about (see SidecarConfig; handshakes: TLS). */
export type ConnectionLimit =
  | 'pending-hellos'
  | 'pending-hellos-per-address'
  | 'incoming-connections'
  | 'pending-handshakes'
  | 'pending-handshakes-per-address';

/**
 * A connection limit was reached: a connection was closed to make room (`action: 'evicted'`: the
 * one waiting longest for its hello, or the stream silent longest) or the newcomer was refused
 * (`'refused'`, every stream being busy). Reported as a `warning`; the listener keeps serving.
 */
export class ConnectionLimitError extends SidecarError {
  readonly code = 'SIDECAR_ERR_CONNECTION_LIMIT';
  override readonly retryable = true;
  constructor(
    readonly limit: ConnectionLimit,
    readonly max: number,
    readonly action: 'evicted' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

/** The connection closed before the operation finished. */
export class ConnectionClosedError extends SidecarError {
  readonly code = 'SIDECAR_ERR_CONNECTION_CLOSED';
  override readonly retryable = true;
}
