import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Server } from 'node:tls';
import type {
  DialOptions,
  Endpoint,
  IncomingConnection,
  Listener,
  ListenOptions,
  SidecarError,
  TransportIdentity,
} from '@sidecar/core';
import { SocketTransport } from '@sidecar/transport-tcp';
import { CertWatcher } from './cert-watcher.js';
import { type Credentials, filesOf } from './credentials.js';
import { CertificateError } from './errors.js';
import { SessionCache } from './session-cache.js';
import { TlsContexts } from './tls-contexts.js';
import { openTlsSocket } from './tls-dial.js';
import { handshakeLimitsOf, handshakeTimeoutOf, type TlsOptions } from './tls-options.js';
import { createTlsServer } from './tls-server.js';

/**
 * Mutual TLS over the shared socket listener/dialer of @sidecar/transport-tcp. The caller checks
 * that the callee's certificate names the peer it dialed (`sidecar://<namespace>/<name>`); the
 * callee hands the caller's verified name to core, whose hello refuses a caller claiming another.
 *
 * @example
 * ```ts
 * const transport = new TlsTransport({ ca: 'certs/ca.crt', cert: 'certs/billing.crt', key: 'certs/billing.key' });
 * await transport.reload(); // after rotating the files: new connections use the new certificate
 * ```
 */
export class TlsTransport extends SocketTransport {
  readonly name = 'tls';
  readonly #tls: TlsOptions;
  readonly #servers = new Map<Server, (error: SidecarError) => void>();
  readonly #sessions: SessionCache;
  readonly #contexts: TlsContexts;
  #watcher: CertWatcher | undefined;

  constructor(options: TlsOptions = {}) {
    super(options);
    this.#tls = { ...options };
    this.#sessions = new SessionCache(options.sessionCacheSize);
    this.#contexts = new TlsContexts(this.#tls);
  }

  /** Number of TLS sessions held for resumption. */
  get cachedSessions(): number {
    return this.#sessions.size;
  }

  override async listen(
    onConnection: (connection: IncomingConnection) => void,
    options: ListenOptions,
  ): Promise<Listener> {
    await this.#contexts.ready();
    const listener = await super.listen(onConnection, options);
    if (this.#tls.watch) this.#startWatching();
    return {
      get endpoint() {
        return listener.endpoint;
      },
      get endpoints() {
        return listener.endpoints;
      },
      close: async () => {
        await listener.close();
        if (this.#servers.size === 0) this.#stopWatching();
      },
    };
  }

  override async dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex> {
    await this.#contexts.ready();
    return super.dial(endpoint, options);
  }

  /**
   * Reads the certificate, key and CA again (or takes the ones given) and uses them for every new
   * connection, accepted or dialed; open connections keep theirs. Cached sessions are dropped.
   * Rejects, keeping the current ones, if the new material is unusable.
   */
  async reload(credentials: Partial<Credentials> = {}): Promise<void> {
    await this.#contexts.reload(credentials, (context) => {
      for (const server of this.#servers.keys()) server.setSecureContext(context);
    });
    this.#sessions.clear();
  }

  protected createServer(
    accept: (socket: Socket, identity?: TransportIdentity) => void,
    onError: (error: SidecarError) => void,
  ): Server {
    const server = createTlsServer(
      {
        context: this.#contexts.serverOptions(),
        handshakeTimeout: handshakeTimeoutOf(this.#tls),
        limits: handshakeLimitsOf(this.#tls),
        noDelay: this.options.noDelay ?? true,
      },
      accept,
      onError,
    );
    this.#servers.set(server, onError);
    server.once('close', () => this.#servers.delete(server));
    return server;
  }

  protected openSocket(endpoint: Endpoint, options: DialOptions): { socket: Socket; ready: Promise<void> } {
    return openTlsSocket(endpoint, options, {
      context: this.#contexts.client,
      sessions: this.#sessions,
      handshakeTimeout: handshakeTimeoutOf(this.#tls),
      noDelay: this.options.noDelay ?? true,
      ...(this.#tls.highWaterMark ? { highWaterMark: this.#tls.highWaterMark } : {}),
    });
  }

  #startWatching(): void {
    if (this.#watcher) return;
    const files = filesOf(this.#tls as Credentials);
    if (files.length === 0) return;
    this.#watcher = new CertWatcher(
      files,
      () => {
        this.reload().catch((err: unknown) => {
          const error = new CertificateError(
            'RELOAD_FAILED',
            `could not reload the TLS certificate files (the previous ones stay in use): ${(err as Error).message}`,
            { cause: err },
          );
          for (const onError of this.#servers.values()) onError(error);
        });
      },
      this.#tls.watchInterval,
    );
    this.#watcher.start();
  }

  #stopWatching(): void {
    this.#watcher?.stop();
    this.#watcher = undefined;
  }
}
