/**
 * An app test that replaces core's own services in the sidecar's container before `start()`:
 * the clock (a connect that would wait 5 s gives up at once) and the dialer (the streams the app
 * opens go to an in-process fake, with no peer and no registry lookup).
 */
import { randomUUID } from 'node:crypto';
import { Duplex, PassThrough, Writable } from 'node:stream';
import {
  CLOCK,
  createSidecar,
  DIALER,
  type Dialer,
  PeerNotFoundError,
  provide,
  resolve,
} from '@sidecar/core';
import { describe, expect, it } from 'vitest';
import { greet } from './greeter.js';

function memory() {
  return { registry: `memory:${randomUUID()}`, transports: ['memory'] } as const;
}

describe('an app swapping core services in its tests', () => {
  it('swaps the clock: the 5 s connect timeout passes at once', async () => {
    await using client = createSidecar({ name: 'test-client', ...memory() });
    let now = Date.now();
    // Each reading jumps a minute ahead, so every deadline has passed by the next look.
    const jumping = {
      now() {
        now += 60_000;
        return now;
      },
    };
    provide(client.container, CLOCK, { useValue: jumping });
    await client.start();
    const started = performance.now();
    await expect(client.connect('nobody')).rejects.toBeInstanceOf(PeerNotFoundError);
    expect(performance.now() - started).toBeLessThan(4000); // a bound on the wait, not a speed claim
  });

  it('swaps the dialer: streams go to an in-process fake of the greeter', async () => {
    await using client = createSidecar({ name: 'test-client', ...memory() });
    const asked: string[] = [];
    const real = resolve(client.container, DIALER);
    // Any object of the Dialer shape will do; this one fakes `open` (what `to(name)` uses).
    const fake: Dialer = {
      open(name) {
        asked.push(name);
        return fakeGreeter();
      },
      connect: (name, options) => real.connect(name, options),
      connectAll: (group, options) => real.connectAll(group, options),
      close: () => real.close(),
    };
    provide(client.container, DIALER, { useValue: fake });
    await client.start();
    expect(await greet(client, 'bob')).toBe('hi there, bob');
    expect(asked).toEqual(['greeter']);
  });
});

/** What the greeter does, in memory: reads a name until the end, answers with a greeting. */
function fakeGreeter(): Duplex {
  let text = '';
  const replies = new PassThrough();
  const requests = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
    final(done) {
      replies.end(`hi there, ${text.trim()}`);
      done();
    },
  });
  return Duplex.from({ readable: replies, writable: requests });
}
