import type { Socket } from 'node:net';
import { type ConnectionOptions, connect, type SecureContext } from 'node:tls';
import { type DialOptions, type Endpoint, TimeoutError } from '@sidecar/core';
import { once } from '@sidecar/transport-tcp';
import { deferEndUntilSecure } from './half-close.js';
import { SessionCache } from './session-cache.js';
import { checkCallee, clientHandshakeError } from './tls-errors.js';

/** What the caller's side of a TLS connection is made of. */
export interface TlsDialSettings {
  /** The client context of the credentials. */
  context: SecureContext | undefined;
  /** Session tickets for resumption, per endpoint and expected peer. */
  sessions: SessionCache;
  /** Time the handshake may take, in ms. */
  handshakeTimeout: number;
  /** Disable Nagle's algorithm. */
  noDelay: boolean;
  /** Buffer size of the dialed stream, in bytes (Node's default when unset). */
  highWaterMark?: number;
}

/**
 * Opens a mutual-TLS connection to `endpoint`, resuming a cached session of the same expected
 * peer when there is one; `ready` resolves once the callee's certificate was checked to name the
 * peer dialed, and rejects with a typed error (the cached session dropped) otherwise.
 */
export function openTlsSocket(
  endpoint: Endpoint,
  options: DialOptions,
  settings: TlsDialSettings,
): { socket: Socket; ready: Promise<void> } {
  const where = `${endpoint.host}:${endpoint.port}`;
  const { sessions } = settings;
  const key = SessionCache.keyOf(endpoint, options.expect);
  const session = sessions.get(key);
  // allowHalfOpen and noDelay are honoured by tls.connect but missing from its types.
  const connectOptions: ConnectionOptions & { allowHalfOpen: boolean; noDelay: boolean } = {
    host: endpoint.host,
    port: endpoint.port,
    secureContext: settings.context,
    allowHalfOpen: true,
    noDelay: settings.noDelay,
    ...(session ? { session } : {}),
    ...(settings.highWaterMark ? { highWaterMark: settings.highWaterMark } : {}),
    checkServerIdentity: (_host, cert) => checkCallee(cert.subjectaltname, options.expect, where),
  };
  const socket = connect(connectOptions);
  deferEndUntilSecure(socket);
  socket.on('session', (ticket: Buffer) => {
    if (socket.authorized) sessions.set(key, ticket);
  });
  const timeout = settings.handshakeTimeout;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`the TLS handshake with ${where} did not finish within ${timeout} ms`)),
      timeout,
    );
    timer.unref();
  });
  const ready = Promise.race([once(socket, 'secureConnect'), expired]).then(
    () => clearTimeout(timer),
    (err: unknown) => {
      clearTimeout(timer);
      sessions.delete(key);
      throw clientHandshakeError(socket, err, where);
    },
  );
  return { socket, ready };
}
