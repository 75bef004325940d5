import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type ConnectionOptions,
  connect,
  createSecureContext,
  createServer,
  type SecureContext,
  type SecureVersion,
  type Server,
  type TLSSocket,
} from 'node:tls';
import {
  type DialOptions,
  type Endpoint,
  type IncomingConnection,
  InvalidConfigError,
  type Listener,
  type ListenOptions,
  type SidecarError,
  TimeoutError,
  type TransportIdentity,
} from '@sidecar/core';
import { encodeHello } from '@sidecar/core/wire';
import { once, SocketTransport, type SocketTransportOptions } from '@sidecar/transport-tcp';
import { CertWatcher } from './cert-watcher.js';
import { type Credentials, filesOf, type LoadedCredentials, loadCredentials } from './credentials.js';
import { CertificateError } from './errors.js';
import { deferEndUntilSecure } from './half-close.js';
import { limitHandshakes } from './handshake-limits.js';
import { SessionCache } from './session-cache.js';
import {
  checkCallee,
  clientHandshakeError,
  remoteOf,
  serverHandshakeError,
  verifyCaller,
} from './tls-errors.js';

/** How long a refused caller gets to read the refusal before the socket is destroyed, in ms. */
const REFUSE_LINGER_MS = 1000;

/** Options of the TLS transport: mutual TLS, each peer's certificate names it. */
export interface TlsOptions extends SocketTransportOptions, Partial<Credentials> {
  /** Lowest TLS version either side accepts. @default 'TLSv1.3' */
  minVersion?: SecureVersion;
  /** Time a connection has to finish its TLS handshake (both sides), in ms. @default 5000 */
  handshakeTimeout?: number;
  /** Reload ca/cert/key when their files change (files only, polled). @default false */
  watch?: boolean;
  /** Poll interval of `watch`, in ms. @default 1000 */
  watchInterval?: number;
  /** Buffer size of the streams this side dials, in bytes (bigger can help bulk transfers). @default 16384 (Node's default) */
  highWaterMark?: number;
  /** TLS sessions kept for resumption (per endpoint and expected peer); 0 turns resumption off. @default 256 */
  sessionCacheSize?: number;
  /**
   * Accepted connections that may be in their TLS handshake at once. When full, the one waiting
   * longest is closed to make room (see docs/security.md, connection limits).
   * @default 128
   */
  maxPendingHandshakes?: number;
  /** The same limit per source address (per /64 for IPv6): one address cannot evict another's. @default 32 */
  maxPendingHandshakesPerAddress?: number;
}

/** Default lowest TLS version. */
export const DEFAULT_MIN_VERSION: SecureVersion = 'TLSv1.3';
/** Default TLS handshake timeout, in ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 5000;
/** Default limit of connections in their TLS handshake, in total. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 128;
/** Default limit of connections in their TLS handshake, per source address. */
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS = 32;

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
  #loading: Promise<void> | undefined;
  #credentials: LoadedCredentials | undefined;
  #clientContext: SecureContext | undefined;
  #watcher: CertWatcher | undefined;

  constructor(options: TlsOptions = {}) {
    super(options);
    this.#tls = { ...options };
    this.#sessions = new SessionCache(options.sessionCacheSize);
  }

  /** Number of TLS sessions held for resumption. */
  get cachedSessions(): number {
    return this.#sessions.size;
  }

  override async listen(
    onConnection: (connection: IncomingConnection) => void,
    options: ListenOptions,
  ): Promise<Listener> {
    await this.#ready();
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
    await this.#ready();
    return super.dial(endpoint, options);
  }

  /**
   * Reads the certificate, key and CA again (or takes the ones given) and uses them for every new
   * connection, accepted or dialed; open connections keep theirs. Cached sessions are dropped.
   * Rejects, keeping the current ones, if the new material is unusable.
   */
  async reload(credentials: Partial<Credentials> = {}): Promise<void> {
    const next = { ...this.#tls, ...credentials };
    const loaded = await loadCredentials(next);
    const context = this.#makeClientContext(loaded);
    for (const server of this.#servers.keys()) server.setSecureContext(this.#contextOptions(loaded));
    Object.assign(this.#tls, credentials);
    this.#credentials = loaded;
    this.#clientContext = context;
    this.#loading = Promise.resolve();
    this.#sessions.clear();
  }

  protected createServer(
    accept: (socket: Socket, identity?: TransportIdentity) => void,
    onError: (error: SidecarError) => void,
  ): Server {
    const handshakeTimeout = this.#handshakeTimeout();
    const server = createServer({
      ...this.#contextOptions(this.#loaded()),
      requestCert: true,
      // Checked in 'secureConnection' instead, so a refusal can say why (Node drops the reason).
      rejectUnauthorized: false,
      handshakeTimeout,
      allowHalfOpen: true,
      noDelay: this.options.noDelay ?? true,
    });
    this.#servers.set(server, onError);
    server.once('close', () => this.#servers.delete(server));
    const handshakes = limitHandshakes(server, this.#handshakeLimits(), onError);
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

  protected openSocket(endpoint: Endpoint, options: DialOptions): { socket: Socket; ready: Promise<void> } {
    const where = `${endpoint.host}:${endpoint.port}`;
    const key = SessionCache.keyOf(endpoint, options.expect);
    const session = this.#sessions.get(key);
    // allowHalfOpen and noDelay are honoured by tls.connect but missing from its types.
    const connectOptions: ConnectionOptions & { allowHalfOpen: boolean; noDelay: boolean } = {
      host: endpoint.host,
      port: endpoint.port,
      secureContext: this.#clientContext,
      allowHalfOpen: true,
      noDelay: this.options.noDelay ?? true,
      ...(session ? { session } : {}),
      ...(this.#tls.highWaterMark ? { highWaterMark: this.#tls.highWaterMark } : {}),
      checkServerIdentity: (_host, cert) => checkCallee(cert.subjectaltname, options.expect, where),
    };
    const socket = connect(connectOptions);
    deferEndUntilSecure(socket);
    socket.on('session', (ticket: Buffer) => {
      if (socket.authorized) this.#sessions.set(key, ticket);
    });
    const timeout = this.#handshakeTimeout();
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
        this.#sessions.delete(key);
        throw clientHandshakeError(socket, err, where);
      },
    );
    return { socket, ready };
  }

  #ready(): Promise<void> {
    this.#loading ??= loadCredentials(this.#tls).then((loaded) => {
      this.#clientContext = this.#makeClientContext(loaded);
      this.#credentials = loaded;
    });
    this.#loading.catch(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  #loaded(): LoadedCredentials {
    if (!this.#credentials) throw new InvalidConfigError('the TLS credentials are not loaded yet');
    return this.#credentials;
  }

  #handshakeLimits(): { max: number; maxPerAddress: number } {
    const max = this.#tls.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES;
    const maxPerAddress =
      this.#tls.maxPendingHandshakesPerAddress ?? DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS;
    for (const [key, value] of [
      ['maxPendingHandshakes', max],
      ['maxPendingHandshakesPerAddress', maxPerAddress],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new InvalidConfigError(
          `tls option ${key} must be a whole number of at least 1, got ${String(value)}`,
        );
      }
    }
    return { max, maxPerAddress };
  }

  #handshakeTimeout(): number {
    return this.#tls.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  }

  #contextOptions(loaded: LoadedCredentials) {
    return {
      ca: loaded.ca,
      cert: loaded.cert,
      key: loaded.key,
      minVersion: this.#tls.minVersion ?? DEFAULT_MIN_VERSION,
    };
  }

  #makeClientContext(loaded: LoadedCredentials): SecureContext {
    try {
      return createSecureContext(this.#contextOptions(loaded));
    } catch (err) {
      throw new InvalidConfigError(`unusable TLS certificate, key or CA: ${(err as Error).message}`, {
        cause: err,
      });
    }
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

/** Answers a caller whose certificate was refused with a hello refusal naming the reason, then closes. */
function refuseCertificate(socket: TLSSocket, reason: string): void {
  const message = `the caller's certificate was refused (${reason}): give the caller a valid, unexpired certificate signed by the CA the callee trusts (the callee's \`ca\` option), naming it as sidecar://<namespace>/<name>`;
  socket.on('error', () => {});
  socket.end(encodeHello({ type: 'refuse', reason: 'certificate', message }));
  setTimeout(() => socket.destroy(), REFUSE_LINGER_MS).unref();
}
