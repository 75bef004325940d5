import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  DialError,
  type DialOptions,
  type Endpoint,
  type IncomingConnection,
  type Listener,
  type ListenOptions,
  type SidecarError,
  type Transport,
  type TransportIdentity,
} from '@sidecar/core';
import { abortErrorOf, onAbort, throwIfAborted } from '@sidecar/core/plugin-kit';
import {
  type AddressOptions,
  currentAddresses,
  DEFAULT_ADDRESS_CHECK_INTERVAL,
  pickAddresses,
} from './addresses.js';

/** Options shared by every socket-based transport. */
export interface SocketTransportOptions extends AddressOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Disable Nagle's algorithm (lower latency for small writes). @default true */
  noDelay?: boolean;
  /** TCP keep-alive initial delay in ms; 0 turns keep-alive off. @default 30000 */
  keepAlive?: number;
  /** Environment to read `SIDECAR_HOST` from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Default TCP keep-alive initial delay, in ms. */
export const DEFAULT_KEEP_ALIVE = 30_000;

/**
 * The listener and dialer every socket transport shares: TCP uses it as it is; TLS swaps in
 * node:tls through the four hooks. It handles listen/close, connection tracking, half-close
 * (`allowHalfOpen` on both sides), abortable dials and typed dial errors.
 */
export abstract class SocketTransport implements Transport {
  abstract readonly name: string;
  protected readonly options: SocketTransportOptions;

  constructor(options: SocketTransportOptions = {}) {
    this.options = options;
  }

  /** Makes the server; `accept` must receive every connection that is ready for data. */
  protected abstract createServer(
    accept: (socket: Socket, identity?: TransportIdentity) => void,
    onError: (error: SidecarError) => void,
  ): Server;
  /** Opens a client socket; resolves once it is ready for data (and checked, for secure transports). */
  protected abstract openSocket(
    endpoint: Endpoint,
    options: DialOptions,
  ): { socket: Socket; ready: Promise<void> };

  async listen(
    onConnection: (connection: IncomingConnection) => void,
    options: ListenOptions,
  ): Promise<Listener> {
    throwIfAborted(options.signal);
    const { listenHost, advertiseHosts, follow } = pickAddresses(
      this.options,
      options.reach,
      this.options.env ?? process.env,
    );
    const open = new Set<Socket>();
    const onError = options.onError ?? (() => {});
    const server = this.createServer((socket, identity) => {
      this.#tuneSoon(socket);
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      const remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
      onConnection({ stream: socket, remoteAddress, ...(identity ? { identity } : {}) });
    }, onError);
    server.on('connection', (socket: Socket) => {
      // Raw sockets are tracked from the first byte, before any handshake, so close() reaches them.
      socket.on('error', () => {});
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      const onListenError = (err: Error) =>
        reject(
          new DialError(`cannot listen on ${listenHost}:${this.options.port ?? 0}: ${err.message}`, {
            cause: err,
          }),
        );
      server.once('error', onListenError);
      server.listen({ host: listenHost, port: this.options.port ?? 0 }, () => {
        server.off('error', onListenError);
        resolve();
      });
    });
    server.on('error', (err) => onError(new DialError(`listener error: ${err.message}`, { cause: err })));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : (this.options.port ?? 0);
    const endpointsOf = (hosts: readonly string[]): Endpoint[] =>
      hosts.map((host) => ({ transport: this.name, host, port }));
    let endpoints = endpointsOf(
      follow ? await currentAddresses(listenHost, this.options, options.registryHost) : advertiseHosts,
    );
    // Follow this machine's addresses (a new DHCP lease, a network that appears) and report them.
    let checking = false;
    const check = async () => {
      if (checking) return;
      checking = true;
      try {
        const now = await currentAddresses(listenHost, this.options, options.registryHost);
        if (now.join(',') === endpoints.map((e) => e.host).join(',')) return;
        endpoints = endpointsOf(now);
        options.onEndpointChange?.(endpoints[0] as Endpoint);
      } catch {
        // Reading the interfaces failed this once: keep the current endpoints, check again later.
      } finally {
        checking = false;
      }
    };
    const watcher = follow
      ? setInterval(() => void check(), this.options.addressCheckInterval ?? DEFAULT_ADDRESS_CHECK_INTERVAL)
      : undefined;
    watcher?.unref();
    let closed: Promise<void> | undefined;
    return {
      get endpoint() {
        return endpoints[0] as Endpoint;
      },
      get endpoints() {
        return endpoints;
      },
      close: () => {
        clearInterval(watcher);
        closed ??= new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of open) socket.destroy();
        });
        return closed;
      },
    };
  }

  async dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex> {
    throwIfAborted(options.signal);
    const { socket, ready } = this.openSocket(endpoint, options);
    const where = `${endpoint.host}:${endpoint.port}`;
    const release = onAbort(options.signal, () =>
      socket.destroy(abortErrorOf(options.signal as AbortSignal)),
    );
    try {
      await ready;
      this.#tuneSoon(socket);
      return socket;
    } catch (err) {
      socket.destroy();
      if (options.signal?.aborted) throw abortErrorOf(options.signal);
      if (
        err instanceof Error &&
        'code' in err &&
        typeof err.code === 'string' &&
        err.code.startsWith('SIDECAR_')
      )
        throw err;
      throw new DialError(`cannot connect to ${where} (${this.name}): ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      release();
    }
  }

  /**
   * Sets Nagle and keep-alive once the current turn of the event loop is over: after the hello
   * that follows a connect (or an accept) is written, so its system calls (three setsockopt for
   * keep-alive) are off the connect's critical path. Sockets are created with noDelay already;
   * keep-alive only matters after minutes. A socket destroyed meanwhile is left alone.
   */
  #tuneSoon(socket: Socket): void {
    setImmediate(() => {
      if (socket.destroyed) return;
      socket.setNoDelay(this.options.noDelay ?? true);
      const keepAlive = this.options.keepAlive ?? DEFAULT_KEEP_ALIVE;
      if (keepAlive > 0) socket.setKeepAlive(true, keepAlive);
    });
  }
}

/** Resolves when `socket` emits `event`, rejects on its first error or close before that. */
export function once(socket: Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      socket.off(event, onEvent);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onEvent = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error('the connection closed'));
    socket.once(event, onEvent);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}
