/**
 * Groups forward what the wrapped stream offers: with the original pillion (the 0.0.7 stand-in)
 * and burro from npm put in with addStreamWrapper, `to('*').provide(...)` reaches every
 * matching stream, incoming and outgoing, now and later. This file also type-checks (strict) the
 * seed's chain with the parameters inferred.
 */
import { randomBytes } from 'node:crypto';
import * as burro from 'burro';
import pillion from 'pillion';
import { createSidecar } from 'sidecar';
import { afterEach, describe, expect, it } from 'vitest';

const apps: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});

function peer(name: string, store: string) {
  const app = createSidecar({ name, registry: `memory:${store}`, transports: ['tcp'] })
    .addStreamWrapper((s) => burro.wrap(s))
    .addStreamWrapper((s) => new pillion(s));
  apps.push(app);
  return app;
}

function greetPing(stream: pillion): Promise<unknown> {
  return new Promise((resolve) => stream.callRemote('ping', resolve));
}

function greet(stream: pillion, name: string): Promise<unknown> {
  return new Promise((resolve) => stream.callRemote('greet', name, resolve));
}

describe('groups forward the methods of the wrapped streams', () => {
  it("types the issue's chain in strict TypeScript, the parameters inferred from pillion's .d.ts", () => {
    const app = createSidecar({ name: 'typed', registry: 'memory:typed' });
    apps.push(app);
    app
      .addStreamWrapper((s) => new pillion(s))
      .to('*')
      .provide('greet', (name, cb) => cb(`hi there, ${name}`));
    expect(app.to('*').streams.size).toBe(0);
  });

  it('provide() on to("*") over the original pillion reaches incoming streams, now and later', async () => {
    const store = randomBytes(6).toString('hex');
    const server = peer('my-server-app', store);
    // the seed's line, typed: name and cb are inferred from pillion's .d.ts
    server.to('*').provide('greet', (name, cb) => cb(`hi there, ${name}`));
    await server.start();
    const client = peer('client', store);
    await client.start();
    expect(await greet(client.to('my-server-app'), 'ann')).toBe('hi there, ann');
    // provided later: applied to the open stream and to new ones
    server.to('*').provide('shout', (text: string, cb) => cb(text.toUpperCase()));
    const again = client.to('my-server-app');
    expect(await new Promise((resolve) => again.callRemote('shout', 'hey', resolve))).toBe('HEY');
  });

  it('reaches outgoing streams, and only those whose peer matches the pattern', async () => {
    const store = randomBytes(6).toString('hex');
    const caller = peer('caller', store);
    caller.to('work*').provide('whoami', (cb) => cb('caller'));
    await caller.start();
    const worker = peer('worker-1', store);
    const other = peer('other', store);
    for (const app of [worker, other]) app.to('*').provide('ping', (cb) => cb('pong'));
    await Promise.all([worker.start(), other.start()]);
    const answers: unknown[] = [];
    // the caller opens the streams; the far ends call back over them
    const answered = new Promise<void>((resolve) => {
      worker.once('stream', (stream: pillion) => {
        stream.callRemote('whoami', (who: unknown) => {
          answers.push(who);
          resolve();
        });
      });
    });
    expect(await greetPing(caller.to('worker-1'))).toBe('pong');
    await answered;
    expect(answers).toEqual(['caller']);
    const missing = new Promise<unknown>((resolve) => {
      other.once('stream', (stream: pillion) => {
        stream.once('error', (e: { error: string }) => resolve(e.error));
        stream.callRemote('whoami', () => resolve('answered'));
      });
    });
    expect(await greetPing(caller.to('other'))).toBe('pong');
    expect(await missing).toBe("method `whoami' not found");
  });

  it('keeps one set-up call per method and name: 10,000 provide() calls replay as one on a later stream', async () => {
    const store = randomBytes(6).toString('hex');
    const server = peer('counter', store);
    const group = server.to('*');
    for (let i = 0; i < 10_000; i++)
      group.provide('greet', (name: string, cb: (s: string) => void) => cb(`v${i} ${name}`));
    group.provide('ping', (cb: (s: string) => void) => cb('pong'));
    await server.start();
    const client = peer('client', store);
    await client.start();
    const stream = client.to('counter');
    expect(await greet(stream, 'ann')).toBe('v9999 ann');
    expect(await greetPing(stream)).toBe('pong');
  });
});
