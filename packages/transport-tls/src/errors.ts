import { SidecarError, type TransportIdentity } from '@sidecar/core';
import { describePeer } from './identity.js';

/**
 * A peer's certificate was refused: expired or not yet valid, signed by a CA this side does not
 * trust, missing, or naming no sidecar peer. `reason` is OpenSSL's code (`CERT_HAS_EXPIRED`,
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, ...) or `NO_PEER_NAME` / `AMBIGUOUS_PEER_NAME`.
 *
 * @example
 * ```ts
 * app.on('warning', (err) => { if (err instanceof CertificateError) console.log(err.reason); });
 * ```
 */
export class CertificateError extends SidecarError {
  readonly code = 'SIDECAR_ERR_CERTIFICATE';
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A valid certificate names another peer than the one the caller asked for: the stream is never
 * handed out (a stale registry address, or someone else's server).
 */
export class PeerIdentityError extends SidecarError {
  readonly code = 'SIDECAR_ERR_PEER_IDENTITY';
  constructor(
    readonly expected: TransportIdentity,
    readonly actual: readonly TransportIdentity[],
    where: string,
  ) {
    super(
      `${where}: the certificate names ${actual.length > 0 ? actual.map(describePeer).join(', ') : 'no sidecar peer'}, not ${describePeer(expected)}; check the registry address and the certificate`,
    );
  }
}

/** Every error code this package defines. */
export type TlsErrorCode = CertificateError['code'] | PeerIdentityError['code'];
