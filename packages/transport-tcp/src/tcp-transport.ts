import { connect, createServer, type Socket } from 'node:net';
import { CONFIG, type DialOptions, type Endpoint, resolve, type TransportPlugin } from '@sidecar/core';
import { once, SocketTransport, type SocketTransportOptions } from './socket-transport.js';

/** Options of the TCP transport (all optional). */
export type TcpOptions = SocketTransportOptions;

/** Plain TCP: the socket is the stream, nothing is copied per chunk. */
export class TcpTransport extends SocketTransport {
  readonly name = 'tcp';

  protected createServer(accept: (socket: Socket) => void) {
    return createServer({ allowHalfOpen: true, noDelay: true }, accept);
  }

  protected openSocket(endpoint: Endpoint, _options: DialOptions) {
    const socket = connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true, noDelay: true });
    return { socket, ready: once(socket, 'connect') };
  }
}

/**
 * The TCP transport plugin (`transports: ['tcp']`, the default).
 *
 * @example
 * ```ts
 * import { tcp } from '@sidecar/transport-tcp';
 * createSidecar({ name: 'billing', transports: [tcp({ port: 7000 })] });
 * ```
 */
export function tcp(options: TcpOptions = {}): TransportPlugin {
  return {
    kind: 'transport',
    name: 'tcp',
    create: (container) => new TcpTransport({ env: resolve(container, CONFIG).env, ...options }),
  };
}
