import { randomBytes } from 'node:crypto';
import { createSidecar } from '@sidecar/core';
import { type PillionOptions, pillion } from '@sidecar/wrapper-pillion';

/** A started sidecar with pillion over real TCP on 127.0.0.1, sharing an in-memory registry store. */
export async function rpcPeer(name: string, store: string, options: PillionOptions = {}) {
  const app = createSidecar({
    name,
    registry: `memory:${store}`,
    transports: ['tcp'],
    wrappers: [pillion(options)],
  });
  await app.start();
  return app;
}

/** A fresh registry store name, so test files and tests never share peers. */
export function freshStore(): string {
  return `pillion-${randomBytes(6).toString('hex')}`;
}

/** A promise and its resolve function. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Two connected TCP sockets on 127.0.0.1 (the server side first). */
export async function socketPair(): Promise<[import('node:net').Socket, import('node:net').Socket]> {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  const accepted = new Promise<import('node:net').Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  const serverSide = await accepted;
  server.close();
  return [serverSide, client];
}
