/**
 * js-libp2p as a benchmark reference: TCP + Noise + Yamux, as pinned in bench/package.json.
 *
 * js-libp2p 3.x needs Node >= 22 (it calls Promise.withResolvers, and p-retry 8 declares
 * `node >= 22`), so the last 2.x line is pinned (libp2p 2.9.0, @libp2p/tcp 10.1.9,
 * @chainsafe/libp2p-noise 16.1.5, @chainsafe/libp2p-yamux 7.0.4). Some of its transitive helpers
 * (it-queue, mortice) also call Promise.withResolvers, so it is installed here when missing:
 * the three-line equivalent of the built-in, used only by the libp2p side of the benches.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { collectGarbage } from './measure.js';

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason?: unknown) => void;
}
const promiseStatics = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
promiseStatics.withResolvers ??= <T>(): Resolvers<T> => {
  let resolve!: (value: T) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** The protocol of the benchmark sink: read until the end, answer `<bytes> <cpu us>\n`. */
export const SINK_PROTOCOL = '/sidecar-bench/sink/1.0.0';

/** Starts a libp2p node; with `listen`, on 127.0.0.1 only (and with no connection rate limits). */
export function startLibp2p(listen: boolean): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: 10_000,
      maxIncomingPendingConnections: 10_000,
      inboundConnectionThreshold: 1_000_000,
    },
  });
}

/** Serves {@link SINK_PROTOCOL} on `node`. */
export async function serveSink(node: Libp2p): Promise<void> {
  await node.handle(
    SINK_PROTOCOL,
    ({ stream }) => {
      void (async () => {
        const cpu = process.cpuUsage();
        let bytes = 0;
        for await (const chunk of stream.source) bytes += chunk.byteLength;
        const used = process.cpuUsage(cpu);
        await stream.sink([new TextEncoder().encode(`${bytes} ${used.user + used.system}\n`)]);
        setImmediate(collectGarbage);
      })().catch(() => stream.abort(new Error('sink failed')));
    },
    { maxInboundStreams: 10_000, runOnLimitedConnection: false },
  );
}

/** Dials `address` on a new connection and opens one sink stream on it. */
export async function openSinkStream(node: Libp2p, address: string) {
  const connection = await node.dial(multiaddr(address), { force: true });
  const stream = await connection.newStream(SINK_PROTOCOL);
  return { connection, stream };
}

/**
 * Sends `total` bytes in `chunk`s on a new stream of `node` to `address` and resolves with the
 * sink's answer once it has counted them all (the dial and stream open are not timed).
 */
export async function libp2pTransfer(
  node: Libp2p,
  address: string,
  chunk: Uint8Array,
  total: number,
): Promise<{ seconds: number; cpuUs: number; farCpuUs: number }> {
  const { connection, stream } = await openSinkStream(node, address);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const answer = (async () => {
    let text = '';
    for await (const part of stream.source) text += new TextDecoder().decode(part.subarray());
    return text;
  })();
  await stream.sink(
    (function* () {
      for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
    })(),
  );
  const [bytes, farCpuUs] = (await answer).trim().split(' ').map(Number) as [number, number];
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  if (bytes !== total) throw new Error(`the libp2p sink counted ${bytes} bytes, expected ${total}`);
  await connection.close();
  return { seconds, cpuUs: used.user + used.system, farCpuUs };
}
