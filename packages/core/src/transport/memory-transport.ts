import type { Duplex } from 'node:stream';
import type { TransportPlugin } from '../contracts/plugin.js';
import type { DialOptions, IncomingConnection, Listener, Transport } from '../contracts/transport.js';
import { DialError } from '../errors.js';
import type { Endpoint } from '../records.js';
import { throwIfAborted } from '../util/abort.js';
import { duplexPair } from './duplex-pair.js';

const MEMORY_HOST = 'memory';
const listeners = new Map<number, (connection: IncomingConnection) => void>();
let nextPort = 1;

/**
 * A transport inside one process, for apps' own tests: no sockets, same contract. Endpoints look
 * like `{ transport: 'memory', host: 'memory', port: N }` and are reachable only from this process.
 */
export class MemoryTransport implements Transport {
  readonly name = 'memory';

  async listen(
    onConnection: (connection: IncomingConnection) => void,
    options: { signal?: AbortSignal },
  ): Promise<Listener> {
    throwIfAborted(options.signal);
    const port = nextPort++;
    const open = new Set<Duplex>();
    listeners.set(port, (connection) => {
      open.add(connection.stream);
      connection.stream.once('close', () => open.delete(connection.stream));
      onConnection(connection);
    });
    return {
      endpoint: { transport: this.name, host: MEMORY_HOST, port },
      async close() {
        listeners.delete(port);
        for (const stream of open) stream.destroy();
      },
    };
  }

  async dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex> {
    throwIfAborted(options.signal);
    const accept = endpoint.host === MEMORY_HOST ? listeners.get(endpoint.port) : undefined;
    if (!accept) {
      throw new DialError(`nothing listens on memory port ${endpoint.port}`);
    }
    const [local, remote] = duplexPair();
    setImmediate(() => accept({ stream: remote, remoteAddress: 'memory' }));
    return local;
  }
}

/**
 * The in-memory transport plugin (`transports: ['memory']`).
 *
 * @example
 * ```ts
 * createSidecar({ name: 'a', registry: 'memory', transports: [memoryTransport()] });
 * ```
 */
export function memoryTransport(): TransportPlugin {
  return {
    kind: 'transport',
    name: 'memory',
    create: () => new MemoryTransport(),
  };
}
