import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createSidecar, type PeerInfo, type Sidecar, type SidecarConfig } from '@sidecar/core';
import { emit, errorInfo, sleep } from './io.js';
import { type RegistrySpec, registryOf } from './registry-spec.js';
import { type Header, headerLine, type Identity, readLine } from './wire.js';

/** How a peer process reaches its registry and listens. */
export interface PeerBase {
  /** Registry URL (`sqlite:PATH`, `redis://...`, `postgres://...`), or Redis options (Sentinel, Cluster). */
  registry: string | RegistrySpec;
  /** Registry namespace, one per test so that runs never see each other. */
  namespace: string;
  /** A label of this app, returned in every identity (`alpha`, `worker-3`, ...). */
  app: string;
  /** Record TTL in ms. @default 6000 (core's default) */
  ttl?: number;
  /** Options of the TCP transport (`host`, `port`, `advertiseHost`). @default {} */
  tcp?: { host?: string; port?: number; advertiseHost?: string };
  /** `startTimeout` of the sidecar (how long start() waits for the registry). @default 0 */
  startTimeout?: number;
  /** Use TLS instead of TCP, with these PEM credentials (the certificate names this peer). @default undefined */
  tls?: { ca: string; cert: string; key: string };
}

const MAX_WARNINGS = 200;
let warnings = 0;

/** Common sidecar settings of every reliability peer. */
export function sidecarConfig(base: PeerBase, name: string): SidecarConfig {
  return {
    name,
    registry: registryOf(base.registry),
    namespace: base.namespace,
    ...(base.ttl ? { ttl: base.ttl } : {}),
    ...(base.tls
      ? { transports: ['tls'], transportOptions: { tls: base.tls } }
      : { transports: ['tcp'], ...(base.tcp ? { transportOptions: { tcp: base.tcp } } : {}) }),
    ...(base.startTimeout !== undefined ? { startTimeout: base.startTimeout } : {}),
  };
}

/** The address a request arrived on (the socket's local address), else the advertised one. */
function identityOf(app: Sidecar, label: string, id: string, stream?: Duplex): Identity {
  const local = (stream as { localAddress?: string } | undefined)?.localAddress;
  return {
    name: app.name,
    instanceId: app.instanceId,
    app: label,
    pid: process.pid,
    host: local?.replace(/^::ffff:/, '') ?? app.record.endpoints[0]?.host ?? '',
    id,
  };
}

/** Reports warnings (a refused hello is the interesting one) as JSON lines, a bounded number. */
function reportWarnings(app: Sidecar): void {
  app.on('warning', (err) => {
    const reason = (err as { reason?: string }).reason;
    if (err.code === 'SIDECAR_ERR_HELLO_REFUSED') {
      emit({ t: 'refused', name: app.name, instanceId: app.instanceId, reason, message: err.message });
    } else if (warnings++ < MAX_WARNINGS) {
      emit({ t: 'warning', name: app.name, error: errorInfo(err) });
    }
  });
}

/** Serves the reliability protocol (see wire.ts) on one incoming stream. */
async function serveStream(app: Sidecar, label: string, stream: Duplex, peer: PeerInfo): Promise<void> {
  stream.on('error', () => {});
  const { line, rest } = await readLine(stream);
  const header = line as Header;
  if (header.target !== app.name) {
    emit({ t: 'misdelivered', name: app.name, header, from: peer });
    stream.destroy();
    return;
  }
  const identity = `${JSON.stringify(identityOf(app, label, header.id, stream))}\n`;
  if (header.op === 'call') {
    if (header.delayMs) await sleep(header.delayMs);
    stream.end(identity);
  } else if (header.op === 'echo') {
    stream.write(identity);
    if (rest.length > 0) stream.write(rest);
    stream.pipe(stream);
  } else if (header.op === 'stall') {
    stream.write(identity);
    emit({ t: 'stalled', name: app.name, id: header.id });
    // Read nothing for `delayMs` (forever without it): the caller's writes meet TCP flow control.
    // Then read everything and answer the sha256 and length of all that arrived.
    if (header.delayMs) {
      await sleep(header.delayMs);
      const hash = createHash('sha256').update(rest);
      let bytes = rest.length;
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      stream.once('end', () => stream.end(`${JSON.stringify({ sha: hash.digest('hex'), bytes })}\n`));
      stream.resume();
    }
  } else {
    stream.destroy();
  }
}

/** Starts a sidecar that answers the reliability protocol on every incoming stream. */
export async function startServer(base: PeerBase, name: string): Promise<Sidecar> {
  const app = createSidecar(sidecarConfig(base, name)) as Sidecar;
  reportWarnings(app);
  app.on('stream', (stream, peer) => {
    serveStream(app, base.app, stream, peer).catch(() => stream.destroy());
  });
  await app.start();
  return app;
}

/**
 * Starts a pillion RPC sidecar providing `whoami(id)` and `slow(ms, id)`, both answering the
 * identity of this instance.
 */
export async function startRpcServer(base: PeerBase, name: string): Promise<Sidecar> {
  const { pillion } = await import('@sidecar/wrapper-pillion'); // only the RPC scenarios need it
  const app = createSidecar({ ...sidecarConfig(base, name), wrappers: [pillion()] });
  reportWarnings(app as unknown as Sidecar);
  await app.start();
  const self = app as unknown as Sidecar;
  app.to('*').provide('whoami', async (id: unknown) => identityOf(self, base.app, String(id)));
  app.to('*').provide('slow', async (ms: unknown, id: unknown) => {
    await sleep(Number(ms));
    return identityOf(self, base.app, String(id));
  });
  return self;
}

/** Writes a header (and optional payload) and returns the stream, for the caller side. */
export function request(stream: Duplex, header: Header, payload?: Buffer): Duplex {
  stream.write(headerLine(header));
  if (payload) stream.write(payload);
  return stream;
}
