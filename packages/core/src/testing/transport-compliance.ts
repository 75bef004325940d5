import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegistryReach } from '../contracts/registry.js';
import type { DialOptions, IncomingConnection, Listener, Transport } from '../contracts/transport.js';
import { AbortError, DialError, type SidecarError } from '../errors.js';
import type { Endpoint } from '../records.js';
import { eventually } from './wait.js';

/** What the transport compliance suite needs from an adapter under test. */
export interface TransportHarness {
  /** Makes a transport for the server side. */
  server(): Transport | Promise<Transport>;
  /** Makes a transport for the client side (may be the same kind of object). */
  client(): Transport | Promise<Transport>;
  /** Registry reach passed to listen. @default 'machine' */
  reach?: RegistryReach;
  /** The identity the client expects of the server (transports that authenticate peers check it). */
  expect?: DialOptions['expect'];
  /** Opens a raw byte stream to the endpoint, bypassing the transport (to send garbage). */
  rawConnect(endpoint: Endpoint): Promise<Duplex>;
}

/** Reads a stream to its end. */
export function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => {
      if (!stream.readableEnded) reject(new Error('the stream closed before its end'));
    });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The shared transport compliance suite: listen, dial, data both ways (large and many small
 * writes, checked byte for byte), half-close, abort, close, and garbage on the port.
 *
 * @example
 * ```ts
 * transportComplianceSuite('my transport', { server: () => new MyTransport(), client: () => new MyTransport(), rawConnect });
 * ```
 */
export function transportComplianceSuite(label: string, harness: TransportHarness): void {
  const expectPeer = harness.expect ?? { name: 'server', namespace: 'default' };

  describe(`transport compliance: ${label}`, () => {
    const listeners: Listener[] = [];
    const streams: Duplex[] = [];

    afterEach(async () => {
      for (const s of streams.splice(0)) s.destroy();
      await Promise.all(listeners.splice(0).map((l) => l.close()));
    });

    async function serve(
      onConnection: (c: IncomingConnection) => void,
      errors: SidecarError[] = [],
    ): Promise<{ listener: Listener; client: Transport }> {
      const server = await harness.server();
      const listener = await server.listen(
        (c) => {
          streams.push(c.stream);
          onConnection(c);
        },
        { reach: harness.reach ?? 'machine', onError: (e) => errors.push(e) },
      );
      listeners.push(listener);
      return { listener, client: await harness.client() };
    }

    async function dial(client: Transport, endpoint: Endpoint, signal?: AbortSignal): Promise<Duplex> {
      const stream = await client.dial(endpoint, { expect: expectPeer, ...(signal ? { signal } : {}) });
      streams.push(stream);
      return stream;
    }

    it('listens, advertises its own transport name, and echoes data both ways', async () => {
      const { listener, client } = await serve(({ stream }) => stream.pipe(stream));
      expect(listener.endpoint.transport).toBe((await harness.server()).name);
      expect(listener.endpoint.port).toBeGreaterThan(0);
      const stream = await dial(client, listener.endpoint);
      stream.end('ping');
      expect((await readAll(stream)).toString()).toBe('ping');
    });

    it('carries 1 MiB in one write and thousands of small writes, byte for byte', async () => {
      const { listener, client } = await serve(({ stream }) => stream.pipe(stream));
      const big = randomBytes(1024 * 1024);
      const one = await dial(client, listener.endpoint);
      one.end(big);
      expect(sha(await readAll(one))).toBe(sha(big));

      const many = await dial(client, listener.endpoint);
      const parts: Buffer[] = [];
      for (let i = 0; i < 5000; i++) parts.push(randomBytes(1 + (i % 61)));
      const received = readAll(many);
      for (const p of parts) many.write(p);
      many.end();
      expect(sha(await received)).toBe(sha(Buffer.concat(parts)));
    });

    it('half-closes: the server still writes after the client ends', async () => {
      const { listener, client } = await serve(({ stream }) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.once('end', () => stream.end(`got ${Buffer.concat(chunks).length} bytes`));
      });
      const stream = await dial(client, listener.endpoint);
      stream.end(Buffer.alloc(3000, 1));
      expect((await readAll(stream)).toString()).toBe('got 3000 bytes');
    });

    it('applies backpressure instead of buffering without bound', async () => {
      let server: Duplex | undefined;
      const { listener, client } = await serve(({ stream }) => {
        server = stream;
        stream.pause();
      });
      const stream = await dial(client, listener.endpoint);
      await eventually(() => expect(server).toBeDefined());
      // Write until the writer stays blocked: write() said "wait" and no 'drain' came for a while.
      // (Some streams, TLS for one, say "wait" at every large write and drain as soon as the kernel
      // takes the bytes; only a reader that stopped reading keeps them blocked.)
      const chunk = Buffer.alloc(64 * 1024);
      const drained = () =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 200);
          stream.once('drain', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
      let writes = 0;
      for (;;) {
        while (writes < 10_000 && stream.write(chunk)) writes++;
        writes++;
        if (writes >= 10_000 || !(await drained())) break;
      }
      expect(writes).toBeLessThan(10_000); // blocked long before 640 MiB were buffered
      expect(stream.writableNeedDrain).toBe(true);
      const resumed = new Promise((resolve) => stream.once('drain', resolve));
      server?.resume();
      await resumed;
    });

    it('rejects a dial with an aborted signal, and a dial to a closed port, with typed errors', async () => {
      const { listener, client } = await serve(() => {});
      await expect(dial(client, listener.endpoint, AbortSignal.abort())).rejects.toBeInstanceOf(AbortError);
      const endpoint = listener.endpoint;
      await listener.close();
      await expect(dial(client, endpoint)).rejects.toBeInstanceOf(DialError);
    });

    it('closes accepted connections when the listener closes, idempotently', async () => {
      const { listener, client } = await serve(() => {});
      const stream = await dial(client, listener.endpoint);
      // The far end going away shows as 'end' (a FIN, with half-close allowed) or 'close'.
      const closed = new Promise((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
      });
      stream.on('error', () => {});
      stream.resume();
      await eventually(() => expect(streams.length).toBeGreaterThan(1));
      await listener.close();
      await listener.close();
      await closed;
    });

    it('survives garbage on its port and keeps serving', async () => {
      const { listener, client } = await serve(({ stream }) => {
        stream.on('error', () => {});
        stream.pipe(stream);
      });
      for (const junk of [
        randomBytes(4096),
        Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        Buffer.alloc(0),
      ]) {
        const raw = await harness.rawConnect(listener.endpoint);
        raw.on('error', () => {});
        raw.resume();
        raw.end(junk);
        await new Promise((resolve) => setTimeout(resolve, 20));
        raw.destroy();
      }
      const stream = await dial(client, listener.endpoint);
      stream.end('still here');
      expect((await readAll(stream)).toString()).toBe('still here');
    });
  });
}
