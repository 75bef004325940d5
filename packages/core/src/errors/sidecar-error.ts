import type {
  InvalidConfigError,
  InvalidNameError,
  NotStartedError,
  PluginNotInstalledError,
} from './config-errors.js';
import type {
  AbortError,
  ConnectionClosedError,
  ConnectionLimitError,
  DialError,
  DialPolicyError,
  FrameTooLargeError,
  HelloRefusedError,
  NoCommonTransportError,
  PeerNotFoundError,
  PeerUnreachableError,
  ProtocolError,
  TimeoutError,
} from './connect-errors.js';
import type {
  InvalidRecordError,
  RecordNotFoundError,
  RegistryAuthError,
  RegistryUnavailableError,
} from './registry-errors.js';

/**
 * Every failure sidecar reports is an instance of one class below, each with a stable `code`
 * that scripts and `switch` statements can rely on across versions.
 *
 * @example
 * ```ts
 * try { await app.connect('billing', { timeout: 2000 }); }
 * catch (err) {
 *   if (err instanceof PeerNotFoundError) console.log('nobody called billing is up');
 *   else if (isSidecarError(err) && err.retryable) setTimeout(retry, 1000);
 * }
 * ```
 */
export abstract class SidecarError extends Error {
  /** Stable machine-readable code, e.g. `SIDECAR_ERR_PEER_NOT_FOUND`. */
  abstract readonly code: string;
  /** True when the same call may succeed if tried again later. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True for any error raised by sidecar or one of its plugins. */
export function isSidecarError(err: unknown): err is SidecarError {
  return err instanceof SidecarError;
}

/** An unexpected failure inside sidecar or a plugin (a bug: please report it). */
export class InternalError extends SidecarError {
  readonly code = 'SIDECAR_ERR_INTERNAL';
}

/** Every error code sidecar core defines. */
export type SidecarErrorCode =
  | InvalidNameError['code']
  | InvalidConfigError['code']
  | PluginNotInstalledError['code']
  | PeerNotFoundError['code']
  | PeerUnreachableError['code']
  | DialError['code']
  | DialPolicyError['code']
  | NoCommonTransportError['code']
  | HelloRefusedError['code']
  | ProtocolError['code']
  | FrameTooLargeError['code']
  | TimeoutError['code']
  | AbortError['code']
  | NotStartedError['code']
  | RegistryUnavailableError['code']
  | RegistryAuthError['code']
  | InvalidRecordError['code']
  | RecordNotFoundError['code']
  | ConnectionLimitError['code']
  | ConnectionClosedError['code']
  | InternalError['code'];
