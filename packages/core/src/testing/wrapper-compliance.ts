import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { WrapperPlugin } from '../contracts/plugin.js';
import type { StreamWrapper } from '../contracts/wrapper.js';
import { createSidecar } from '../index.js';
import type { Sidecar } from '../sidecar/sidecar.js';
import { eventually, sleep } from './wait.js';
import { type Seen, spied } from './wrapper-spy.js';

/** How messages cross a wrapped stream, for a wrapper whose streams do not carry bytes as they are. */
export interface WrapperExchange {
  /** Serves a wrapped stream on the answering side: every message is echoed back. */
  serve(stream: Duplex): void;
  /** Sends `payload` on a wrapped stream and resolves with its echo. */
  echo(stream: Duplex, payload: string): Promise<string>;
  /** Sends one message holding `payload` without waiting; false when the stream asks to wait for 'drain'. */
  send(stream: Duplex, payload: string): boolean;
}

/** What the wrapper compliance suite needs from the wrapper under test. */
export interface WrapperHarness {
  /** Makes the wrapper under test, a new one per sidecar: a StreamWrapper or a wrapper plugin. */
  create(): StreamWrapper | WrapperPlugin;
  /** How messages cross its streams. @default byteExchange (bytes written are read back as they are) */
  exchange?: WrapperExchange;
  /** The transport the sidecars speak. @default 'tcp' (on 127.0.0.1) */
  transport?: 'tcp' | 'memory';
}

/** The exchange of a wrapper whose streams carry bytes (a pass-through, a compressor...). */
export const byteExchange: WrapperExchange = {
  serve(stream) {
    stream.on('data', (chunk: Buffer) => stream.write(chunk));
    stream.once('end', () => stream.end());
  },
  echo: (stream, payload) =>
    new Promise((resolve, reject) => {
      let got = '';
      const onData = (chunk: Buffer) => {
        got += chunk.toString();
        if (got.length < payload.length) return;
        stream.off('data', onData).off('close', onClose);
        resolve(got);
      };
      const onClose = () => reject(new Error('the stream closed before the echo came back'));
      stream.on('data', onData).once('close', onClose);
      stream.write(payload);
    }),
  send: (stream, payload) => stream.write(payload),
};

/** Bytes offered to a peer that never reads, and the most a wrapper may have accepted by then. */
const FLOOD_BYTES = 64 * 1024 * 1024;
const FLOOD_BOUND = 32 * 1024 * 1024;
/** A writer that waited this long for 'drain' is taken as stalled (it only ends the flood early). */
const STALL_MS = 500;

/** Whether an error is `cause`, or a typed error made of it (core types socket errors). */
const carries = (cause: Error) => (err: Error) => err === cause || err.cause === cause;

/** Resolves when `stream`'s readable side ends or the stream closes (reading it to get there). */
function endOf(stream: Duplex): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  const done = new Promise<void>((resolve) => {
    stream.once('end', resolve).once('close', resolve);
  });
  stream.resume();
  return done;
}

/**
 * The shared wrapper compliance suite: a wrapper is applied on both sides to streams from `to()`
 * (connected later), `connect()` and accepted ones, with real sidecars (memory registry, TCP on
 * 127.0.0.1 by default); end, close and errors propagate both ways; a peer that does not read
 * makes writes stall instead of piling up; the connection is handed over at most once, to the
 * first wrapper only; `context.peer` is set once connected.
 *
 * @example
 * ```ts
 * wrapperComplianceSuite('pass-through', { create: () => (stream) => stream });
 * // A wrapper whose streams carry messages, not bytes, says how to echo and send one:
 * wrapperComplianceSuite('pillion', {
 *   create: () => pillion(),
 *   exchange: {
 *     serve: (s) => s.provide('echo', (v, cb) => cb(v)),
 *     echo: (s, payload) => s.call('echo', payload),
 *     send: (s, payload) => s.write({ type: 'note', payload }),
 *   },
 * });
 * ```
 */
export function wrapperComplianceSuite(label: string, harness: WrapperHarness): void {
  const exchange = harness.exchange ?? byteExchange;

  describe(`wrapper compliance: ${label}`, () => {
    const running: Sidecar[] = [];
    afterEach(async () => {
      await Promise.all(running.splice(0).map((app) => app.stop()));
    });

    /**
     * A server and a client sidecar. `bare`: the server has no wrapper (a peer that does not
     * speak it). `below`: a pass-through wrapper runs first, keeping the streams it sees.
     */
    async function pair(options: { bare?: boolean; below?: boolean } = {}) {
      const store = `wrapper-compliance-${randomBytes(6).toString('hex')}`;
      const seen: Seen[] = [];
      const below = { outgoing: [] as Duplex[], incoming: [] as Duplex[] };
      const probe: StreamWrapper = (stream, context) => {
        below[context.direction].push(stream);
        return stream;
      };
      const chain = () => [...(options.below ? [probe] : []), spied(harness.create(), seen)];
      const make = (name: string, wrappers: Array<StreamWrapper | WrapperPlugin>) =>
        createSidecar({
          name,
          registry: `memory:${store}`,
          transports: [harness.transport ?? 'tcp'],
          wrappers,
        }) as unknown as Sidecar<Duplex>;
      const server = make('server', options.bare ? [probe] : chain());
      const client = make('client', chain());
      running.push(client, server);
      await server.start();
      await client.start();
      const incoming: Duplex[] = [];
      server.on('stream', (stream: Duplex) => incoming.push(stream));
      return { server, client, seen, below, incoming };
    }

    it('a peer that never reads: writes stall, the wrapper does not buffer without bound', async () => {
      const { client } = await pair({ bare: true });
      const stream = client.to('server') as Duplex;
      stream.on('error', () => {});
      const payload = 'f'.repeat(64 * 1024);
      let accepted = 0;
      while (accepted < FLOOD_BYTES) {
        const more = exchange.send(stream, payload);
        accepted += payload.length;
        if (more) continue;
        const drained = await Promise.race([once(stream, 'drain').then(() => true), sleep(STALL_MS)]);
        if (drained !== true) break;
      }
      expect(accepted).toBeLessThan(FLOOD_BOUND);
    });

    it('garbage from a peer without the wrapper: the stream carries it or fails alone, nothing throws', async () => {
      const { server, client } = await pair({ bare: true });
      server.on('stream', (stream: Duplex) => stream.end(randomBytes(64 * 1024)));
      const stream = client.to('server') as Duplex;
      stream.on('error', () => {});
      await endOf(stream);
      await eventually(() => expect(client.state).toBe('started'));
    });

    it('wraps to(), connect() and accepted streams, on both sides', async () => {
      const { server, client, seen, incoming } = await pair();
      server.on('stream', (stream: Duplex) => exchange.serve(stream));
      const lazy = client.to('server') as Duplex;
      expect(await exchange.echo(lazy, 'through to()')).toBe('through to()');
      const direct = (await client.connect('server')) as Duplex;
      expect(await exchange.echo(direct, 'through connect()')).toBe('through connect()');
      const outgoing = seen.filter((s) => s.context.direction === 'outgoing').map((s) => s.output);
      expect(outgoing).toHaveLength(2);
      expect(outgoing[0]).toBe(lazy);
      expect(outgoing[1]).toBe(direct);
      const accepted = seen.filter((s) => s.context.direction === 'incoming').map((s) => s.output);
      expect(accepted).toHaveLength(2);
      expect(incoming).toHaveLength(2);
      for (const [i, stream] of accepted.entries()) expect(incoming[i]).toBe(stream);
    });

    it('an accepted stream can speak first', async () => {
      const { server, client } = await pair();
      const asked = new Promise<string>((resolve, reject) =>
        server.on('stream', (stream: Duplex) =>
          exchange.echo(stream, 'from the server').then(resolve, reject),
        ),
      );
      exchange.serve(client.to('server') as Duplex);
      expect(await asked).toBe('from the server');
    });

    it('sets context.peer once connected, and resolves context.connected with it', async () => {
      const { server, client, seen } = await pair();
      server.on('stream', (stream: Duplex) => exchange.serve(stream));
      await exchange.echo(client.to('server') as Duplex, 'hello');
      await exchange.echo((await client.connect('server')) as Duplex, 'hello');
      expect(seen).toHaveLength(4);
      for (const { context } of seen) {
        const other = context.direction === 'outgoing' ? 'server' : 'client';
        expect(context.peer?.name).toBe(other);
        await expect(context.connected).resolves.toMatchObject({ name: other });
      }
    });

    it('hands the connection over at most once, and never to a wrapper that is not first', async () => {
      const first = await pair();
      first.server.on('stream', (stream: Duplex) => exchange.serve(stream));
      await exchange.echo(first.client.to('server') as Duplex, 'first');
      await exchange.echo((await first.client.connect('server')) as Duplex, 'first');
      for (const entry of first.seen) {
        await entry.take();
        await entry.take();
        expect(entry.taken.filter((s) => s !== undefined).length).toBeLessThanOrEqual(1);
        expect(entry.taken.at(-1)).toBeUndefined();
      }
      const second = await pair({ below: true });
      second.server.on('stream', (stream: Duplex) => exchange.serve(stream));
      expect(await exchange.echo(second.client.to('server') as Duplex, 'second')).toBe('second');
      for (const entry of second.seen) {
        await entry.take();
        expect(entry.taken.every((s) => s === undefined)).toBe(true);
      }
    });

    for (const first of ['client', 'server'] as const) {
      it(`propagates end, the ${first} ending first`, async () => {
        const { server, client, incoming } = await pair();
        server.on('stream', (stream: Duplex) => exchange.serve(stream));
        const near = client.to('server') as Duplex;
        await exchange.echo(near, 'before the end');
        const far = incoming[0] as Duplex;
        const [a, b] = first === 'client' ? [near, far] : [far, near];
        const ended = endOf(b);
        a.end();
        await ended;
        const back = endOf(a);
        if (!b.writableEnded) b.end();
        await back;
        await eventually(() => expect(near.destroyed && far.destroyed).toBe(true));
      });

      it(`propagates close, the ${first} closing first`, async () => {
        const { server, client, incoming } = await pair();
        server.on('stream', (stream: Duplex) => exchange.serve(stream));
        const near = client.to('server') as Duplex;
        await exchange.echo(near, 'before the close');
        const far = incoming[0] as Duplex;
        for (const s of [near, far]) s.on('error', () => {});
        const [a, b] = first === 'client' ? [near, far] : [far, near];
        a.destroy();
        // Over TCP a close reaches the other side as an end (a FIN): the stream may stay writable.
        await endOf(b);
      });

      it(`destroys with an error, and does not swallow an error from below, on the ${first} side`, async () => {
        const { server, client, incoming, below } = await pair({ below: true });
        server.on('stream', (stream: Duplex) => exchange.serve(stream));
        const near = client.to('server') as Duplex;
        await exchange.echo(near, 'before the error');
        const far = incoming[0] as Duplex;
        const [a, b] = first === 'client' ? [near, far] : [far, near];
        const seenA: Error[] = [];
        a.on('error', (err) => seenA.push(err));
        b.on('error', () => {});
        const boom = new Error(`boom on the ${first}`);
        a.destroy(boom);
        await eventually(() => expect(seenA.some(carries(boom))).toBe(true));
        await endOf(b);

        const again = client.to('server') as Duplex;
        again.on('error', () => {});
        await exchange.echo(again, 'before the failure below');
        const raw = below[first === 'client' ? 'outgoing' : 'incoming'].at(-1) as Duplex;
        const wrapped = first === 'client' ? again : (incoming.at(-1) as Duplex);
        const errors: Error[] = [];
        wrapped.on('error', (err) => errors.push(err));
        const failure = new Error('the connection failed');
        raw.destroy(failure);
        await eventually(() => expect(wrapped.destroyed).toBe(true));
        await eventually(() => expect(errors.some(carries(failure))).toBe(true));
      });
    }
  });
}
