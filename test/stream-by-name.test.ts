import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  ConnectionClosedError,
  createSidecar,
  type Sidecar,
  type SidecarConfig,
  type SidecarError,
} from '@sidecar/core';
import { eventually, readAll } from '@sidecar/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const running: Sidecar[] = [];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function tcpPeer(name: string, store: string, extra: Partial<SidecarConfig> = {}): Promise<Sidecar> {
  const app = createSidecar({ name, registry: `memory:${store}`, transports: ['tcp'], ...extra });
  running.push(app);
  await app.start();
  return app;
}

function rawConnect(app: Sidecar): Promise<Duplex> {
  const { host, port } = app.record.endpoints[0]!;
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('a stream by name over real TCP', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });

  it('advertises 127.0.0.1 and exchanges 1 MiB and thousands of small writes both ways, byte for byte', async () => {
    const store = randomBytes(4).toString('hex');
    const server = await tcpPeer('server', store);
    const client = await tcpPeer('client', store);
    expect(server.record.endpoints).toEqual([
      { transport: 'tcp', host: '127.0.0.1', port: expect.any(Number) },
    ]);
    // The server sends its own data back after echoing what it received (both directions at once).
    const fromServer = Buffer.concat(Array.from({ length: 3000 }, (_, i) => randomBytes(1 + (i % 97))));
    server.on('stream', (stream) => {
      stream.pipe(stream, { end: false });
      stream.once('end', () => stream.end(fromServer));
    });
    const big = randomBytes(1024 * 1024);
    const one = await client.connect('server');
    one.end(big);
    const echoed = await readAll(one);
    expect(sha(echoed)).toBe(sha(Buffer.concat([big, fromServer])));

    const many = client.to('server');
    const parts = Array.from({ length: 5000 }, (_, i) => randomBytes(1 + (i % 61)));
    const received = readAll(many);
    for (const p of parts) many.write(p);
    many.end();
    expect(sha(await received)).toBe(sha(Buffer.concat([...parts, fromServer])));
  });

  it('closes garbage, HTTP requests and silent clients on its port and keeps serving', async () => {
    const store = randomBytes(4).toString('hex');
    const server = await tcpPeer('server', store, { helloTimeout: 300 });
    const warnings: SidecarError[] = [];
    server.on('warning', (w) => warnings.push(w));
    server.on('stream', (s) => s.pipe(s));
    for (const junk of [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      randomBytes(2048),
      Buffer.from('SCAR\u0001\u00ff\u00ff'),
    ]) {
      const raw = await rawConnect(server);
      const closed = new Promise((resolve) => raw.once('close', resolve));
      raw.on('error', () => {});
      raw.resume();
      raw.write(junk);
      await closed;
    }
    const silent = await rawConnect(server);
    silent.resume();
    await new Promise((resolve) => silent.once('close', resolve));
    expect(warnings.map((w) => w.code)).toEqual([
      'SIDECAR_ERR_PROTOCOL',
      'SIDECAR_ERR_PROTOCOL',
      'SIDECAR_ERR_PROTOCOL',
      'SIDECAR_ERR_TIMEOUT',
    ]);
    const client = await tcpPeer('client', store);
    const stream = await client.connect('server');
    stream.end('still serving');
    expect((await readAll(stream)).toString()).toBe('still serving');
  });

  it('half-closes end to end and applies backpressure to a peer that stops reading', async () => {
    const store = randomBytes(4).toString('hex');
    const server = await tcpPeer('server', store);
    let paused: Duplex | undefined;
    server.on('stream', (stream, from) => {
      if (from.name === 'slow-client') {
        paused = stream;
        stream.pause();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', () => stream.end(`got ${Buffer.concat(chunks).length}`));
    });
    const client = await tcpPeer('client', store);
    const stream = await client.connect('server');
    stream.end(Buffer.alloc(5000));
    expect((await readAll(stream)).toString()).toBe('got 5000');

    const slow = await tcpPeer('slow-client', store);
    const pushing = slow.to('server');
    pushing.write('x');
    await new Promise((resolve) => pushing.once('connect', resolve));
    await eventually(() => expect(paused).toBeDefined());
    const chunk = Buffer.alloc(64 * 1024);
    let accepted = 0;
    while (pushing.write(chunk) && accepted < 4096) accepted++;
    expect(accepted).toBeLessThan(4096); // write() said "stop" long before 256 MiB
    const drained = new Promise((resolve) => pushing.once('drain', resolve));
    paused?.resume();
    await drained;
    pushing.destroy();
  });

  it('reports a connection reset by the peer as a typed ConnectionClosedError', async () => {
    const store = randomBytes(4).toString('hex');
    const server = await tcpPeer('server', store);
    server.on('stream', (stream) => {
      stream.once('data', () => (stream as Socket).resetAndDestroy());
    });
    const client = await tcpPeer('client', store);
    for (const stream of [await client.connect('server'), client.to('server')]) {
      const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
      stream.write('trigger a reset');
      stream.resume();
      const err = await failed;
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect((err as ConnectionClosedError).code).toBe('SIDECAR_ERR_CONNECTION_CLOSED');
      expect(((err as Error).cause as { code?: string }).code).toBe('ECONNRESET');
    }
  });

  it('leaves a process with nothing keeping it alive after stop()', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@sidecar/source', join(here, 'fixtures/two-peers.ts')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, SIDECAR_HOST: '127.0.0.1' },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 15_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    expect(exited, `the child did not exit by itself; stderr: ${err}`).toBe(0);
    expect(JSON.parse(out.trim())).toEqual({ reply: 'hello by name' });
  });
});
