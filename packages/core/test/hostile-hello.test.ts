import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createSidecar, type Sidecar, type SidecarError } from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import { HELLO_MAGIC, HELLO_VERSION, type HelloFrame, readHello } from '@sidecar/core/wire';
import { afterEach, describe, expect, it } from 'vitest';

const running: Sidecar[] = [];

async function server(): Promise<{ app: Sidecar; warnings: SidecarError[]; streams: number }> {
  const app = createSidecar({
    name: 'callee',
    registry: `memory:${randomBytes(4).toString('hex')}`,
    transports: ['tcp'],
  });
  running.push(app);
  const state = { app, warnings: [] as SidecarError[], streams: 0 };
  app.on('warning', (w) => state.warnings.push(w));
  app.on('stream', (s) => {
    state.streams++;
    s.destroy();
  });
  await app.start();
  return state;
}

function raw(app: Sidecar): Promise<Socket> {
  const { host, port } = app.record.endpoints[0] as { host: string; port: number };
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A hello frame with any JSON body (encodeHello would check nothing either: the wire is untrusted). */
function frame(body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const header = Buffer.alloc(7);
  HELLO_MAGIC.copy(header, 0);
  header.writeUInt8(HELLO_VERSION, 4);
  header.writeUInt16BE(json.length, 5);
  return Buffer.concat([header, json]);
}

async function answer(app: Sidecar, body: unknown): Promise<HelloFrame> {
  const socket = await raw(app);
  socket.on('error', () => {});
  socket.write(frame(body));
  try {
    return await readHello(socket);
  } finally {
    socket.destroy();
  }
}

describe('hostile hellos: every field is validated like a registry record', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });

  it('refuses a 5 KB instanceId full of escape characters, and other malformed identities', async () => {
    const { app, warnings, streams } = await server();
    const to = { name: 'callee' };
    const from = { name: 'caller', instanceId: 'abc123', namespace: 'default' };
    const hostile: Array<[string, unknown]> = [
      [
        '5 KB instanceId with escapes',
        { type: 'hello', from: { ...from, instanceId: `\u001b[2J\u001b[31m${'A'.repeat(5000)}\u0007` }, to },
      ],
      ['instanceId with a space', { type: 'hello', from: { ...from, instanceId: 'a b' }, to }],
      ['numeric instanceId', { type: 'hello', from: { ...from, instanceId: 42 }, to }],
      ['NUL in the namespace', { type: 'hello', from: { ...from, namespace: 'default\u0000' }, to }],
      ['empty namespace', { type: 'hello', from: { ...from, namespace: '' }, to }],
      ['zero-width caller name', { type: 'hello', from: { ...from, name: 'call\u200ber' }, to }],
      ['bidi override in to.name', { type: 'hello', from, to: { name: '\u202eeellac' } }],
      ['bad to.instanceId', { type: 'hello', from, to: { name: 'callee', instanceId: '\u0000' } }],
      ['to is not an object', { type: 'hello', from, to: 'callee' }],
      ['from is missing', { type: 'hello', to }],
    ];
    for (const [what, body] of hostile) {
      const reply = await answer(app, body);
      expect(reply, what).toMatchObject({ type: 'refuse', reason: 'bad-hello' });
    }
    await eventually(() => expect(warnings).toHaveLength(hostile.length));
    for (const w of warnings) expect(w.code).toBe('SIDECAR_ERR_HELLO_REFUSED');
    // A refusal message never echoes the hostile bytes back raw (no escape characters reach logs).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none got through
    for (const w of warnings) expect(w.message).not.toMatch(/[\u0000-\u001f\u200b\u202e]/);
    expect(streams).toBe(0);
  });

  it('still welcomes a well-formed hello', async () => {
    const { app } = await server();
    const reply = await answer(app, {
      type: 'hello',
      from: { name: 'caller', instanceId: 'abc123', namespace: 'default' },
      to: { name: 'callee', instanceId: app.instanceId },
    });
    expect(reply).toMatchObject({ type: 'welcome', from: { name: 'callee', instanceId: app.instanceId } });
  });
});
