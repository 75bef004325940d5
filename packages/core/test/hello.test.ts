import { PassThrough } from 'node:stream';
import { AbortError, ConnectionClosedError, ProtocolError } from '@sidecar/core';
import { encodeHello, HELLO_MAGIC, readHello } from '@sidecar/core/wire';
import { describe, expect, it } from 'vitest';

const hello = encodeHello({
  type: 'hello',
  from: { name: 'a', instanceId: 'i1', namespace: 'default' },
  to: { name: 'b' },
});

describe('hello frame', () => {
  it('round-trips and leaves the bytes after it in the stream', async () => {
    const stream = new PassThrough();
    const reading = readHello(stream);
    stream.write(Buffer.concat([hello, Buffer.from('user data')]));
    const frame = await reading;
    expect(frame).toMatchObject({ type: 'hello', from: { name: 'a' }, to: { name: 'b' } });
    const rest = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(rest.toString()).toBe('user data');
  });

  it('reassembles a hello that arrives one byte at a time', async () => {
    const stream = new PassThrough();
    const reading = readHello(stream);
    for (const byte of hello) stream.write(Buffer.from([byte]));
    expect((await reading).type).toBe('hello');
  });

  it('rejects garbage at its first byte, an HTTP request, a bad version, a huge length, bad JSON', async () => {
    const bad = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0x00]),
      Buffer.concat([HELLO_MAGIC, Buffer.from([99, 0, 2]), Buffer.from('{}')]),
      Buffer.concat([HELLO_MAGIC, Buffer.from([1, 0xff, 0xff])]),
      Buffer.concat([HELLO_MAGIC, Buffer.from([1, 0, 3]), Buffer.from('{x}')]),
      Buffer.concat([HELLO_MAGIC, Buffer.from([1, 0, 2]), Buffer.from('{}')]),
    ];
    for (const bytes of bad) {
      const stream = new PassThrough();
      const reading = readHello(stream);
      stream.write(bytes);
      await expect(reading).rejects.toBeInstanceOf(ProtocolError);
    }
  });

  it('rejects when the stream ends first or the signal aborts', async () => {
    const ended = new PassThrough();
    const reading = readHello(ended);
    ended.end(hello.subarray(0, 5));
    await expect(reading).rejects.toBeInstanceOf(ConnectionClosedError);
    const controller = new AbortController();
    const waiting = readHello(new PassThrough(), controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
  });
});
