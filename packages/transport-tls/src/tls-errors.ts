import type { TLSSocket } from 'node:tls';
import { ProtocolError, type SidecarError, TimeoutError, type TransportIdentity } from '@sidecar/core';
import { CertificateError, PeerIdentityError } from './errors.js';
import { peersNamedBy } from './identity.js';

/** TLS alerts a caller sends when it refuses this side's certificate. */
const CERT_ALERT = /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)/;

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `host:port` of a socket's far end, for messages. */
export function remoteOf(socket: {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}): string {
  return `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
}

/**
 * Turns a failed server-side handshake (`tlsClientError`) into a typed error: TimeoutError for a
 * silent client, CertificateError when the caller refused this side's certificate, ProtocolError
 * for everything else (plain TCP, garbage, HTTP, a connection closed mid-handshake).
 */
export function serverHandshakeError(err: Error, where: string, timeout: number): SidecarError {
  const code = codeOf(err) ?? 'UNKNOWN';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
    return new TimeoutError(`the TLS handshake from ${where} did not finish within ${timeout} ms`, {
      cause: err,
    });
  }
  if (CERT_ALERT.test(code)) {
    return new CertificateError(
      code,
      `the caller at ${where} refused this side's certificate (${code}); check both sides use the same CA`,
      { cause: err },
    );
  }
  return new ProtocolError(`refused a connection from ${where}: not a TLS client (${code}: ${err.message})`, {
    cause: err,
  });
}

/**
 * Checks the certificate a caller presented (the server runs with `rejectUnauthorized: false` so
 * that it can report why): it must chain to the CA, be valid now, and name exactly one peer.
 * Returns that peer, or the error to report.
 */
export function verifyCaller(socket: TLSSocket, where: string): TransportIdentity | CertificateError {
  if (!socket.authorized) {
    const reason = String(socket.authorizationError ?? 'UNAUTHORIZED');
    return new CertificateError(
      reason,
      `refused a TLS caller at ${where}: its certificate is not acceptable (${reason}); it must be valid and signed by this side's CA`,
    );
  }
  const peers = peersNamedBy(socket.getPeerCertificate().subjectaltname);
  const [peer] = peers;
  if (!peer || peers.length > 1) {
    const reason = peer ? 'AMBIGUOUS_PEER_NAME' : 'NO_PEER_NAME';
    return new CertificateError(
      reason,
      `refused a TLS caller at ${where}: its certificate must name exactly one peer with a sidecar://<namespace>/<name> URI SAN (found ${peers.length})`,
    );
  }
  return peer;
}

/** The `checkServerIdentity` check: the server's certificate must name `expect`. */
export function checkCallee(
  subjectAltName: string | undefined,
  expect: TransportIdentity,
  where: string,
): PeerIdentityError | undefined {
  const peers = peersNamedBy(subjectAltName);
  const ok = peers.some((p) => p.name === expect.name && p.namespace === expect.namespace);
  return ok ? undefined : new PeerIdentityError(expect, peers, where);
}

/** Turns a failed client-side handshake into a typed error where the reason is known. */
export function clientHandshakeError(socket: TLSSocket, err: unknown, where: string): unknown {
  if (err instanceof PeerIdentityError || err instanceof TimeoutError) return err;
  const reason = socket.authorizationError;
  if (reason) {
    return new CertificateError(
      String(reason),
      `the server at ${where} presented a certificate this side refuses (${String(reason)}); it must be valid and signed by this side's CA`,
      { cause: err },
    );
  }
  return err;
}
