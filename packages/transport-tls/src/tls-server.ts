import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { SidecarError, TransportIdentity } from '@sidecar/core';
import { encodeHello } from '@sidecar/core/wire';
import { CertificateError } from './errors.js';
import { limitHandshakes } from './handshake-limits.js';
import type { ContextOptions } from './tls-contexts.js';
import { remoteOf, serverHandshakeError, verifyCaller } from './tls-errors.js';

/** How long a refused caller gets to read the refusal before the socket is destroyed, in ms. */
const REFUSE_LINGER_MS = 1000;

/** What the callee's TLS server is made of. */
export interface TlsServerSettings {
  /** The credentials' server context options. */
  context: ContextOptions;
  /** Time a caller has to finish its TLS handshake, in ms. */
  handshakeTimeout: number;
  /** Limits of the connections in their handshake. */
  limits: { max: number; maxPerAddress: number };
  /** Disable Nagle's algorithm on accepted sockets. */
  noDelay: boolean;
}

/**
 * The callee's mutual-TLS server: it asks for the caller's certificate, checks it names a peer
 * (refusing with a hello refusal that says why otherwise), bounds the handshakes in progress, and
 * hands every verified socket with the caller's identity to `accept`.
 */
export function createTlsServer(
  settings: TlsServerSettings,
  accept: (socket: Socket, identity?: TransportIdentity) => void,
  onError: (error: SidecarError) => void,
): Server {
  const { handshakeTimeout } = settings;
  const server = createServer({
    ...settings.context,
    requestCert: true,
    // Checked in 'secureConnection' instead, so a refusal can say why (Node drops the reason).
    rejectUnauthorized: false,
    handshakeTimeout,
    allowHalfOpen: true,
    noDelay: settings.noDelay,
  });
  const handshakes = limitHandshakes(server, settings.limits, onError);
  server.on('secureConnection', (socket: TLSSocket) => {
    handshakes.done(socket);
    const identity = verifyCaller(socket, remoteOf(socket));
    if (identity instanceof CertificateError) {
      onError(identity);
      // Tell the caller why in a hello refusal (not retryable: a new certificate is needed),
      // rather than a bare close it would retry until its connect timeout.
      refuseCertificate(socket, identity.reason);
      return;
    }
    accept(socket, identity);
  });
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    handshakes.done(socket);
    onError(serverHandshakeError(err, remoteOf(socket), handshakeTimeout));
    // Node leaves a timed-out socket open: close it here.
    socket.destroy();
  });
  return server;
}

/** Answers a caller whose certificate was refused with a hello refusal naming the reason, then closes. */
function refuseCertificate(socket: TLSSocket, reason: string): void {
  const message = `the caller's certificate was refused (${reason}): give the caller a valid, unexpired certificate signed by the CA the callee trusts (the callee's \`ca\` option), naming it as sidecar://<namespace>/<name>`;
  socket.on('error', () => {});
  socket.end(encodeHello({ type: 'refuse', reason: 'certificate', message }));
  setTimeout(() => socket.destroy(), REFUSE_LINGER_MS).unref();
}
