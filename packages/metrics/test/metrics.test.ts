import { channel } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSidecar, type InstanceRecord } from '@sidecar/core';
import { DIAGNOSTICS, rpcObserved } from '@sidecar/core/diagnostics';
import { eventually } from '@sidecar/core/testing';
import { tcp } from '@sidecar/transport-tcp';
import { createDevCa, issuePeerCertificate, type PemPair, tls } from '@sidecar/transport-tls';
import { pillion } from '@sidecar/wrapper-pillion';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS, metrics } from '../src/index.js';
import { type Family, parseMetrics, total } from './prometheus-text.js';

let dir: string;
let ca: PemPair;
const certs = new Map<string, PemPair>();
const stops: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidecar-metrics-'));
  ca = await createDevCa();
  for (const name of ['server', 'client-tls', 'client-tcp'])
    certs.set(name, await issuePeerCertificate(ca, { name }));
});
afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

function tlsFor(name: string) {
  const pair = certs.get(name) as PemPair;
  return tls({ ca: ca.cert, cert: pair.cert, key: pair.key });
}

async function peer(name: string, registry: string, transports: ReturnType<typeof tcp>[]) {
  const app = createSidecar({
    name,
    registry: registry as `sqlite:${string}`,
    transports,
    ttl: 900,
    connectTimeout: 2000,
    wrappers: [pillion()],
    plugins: [metrics()],
  });
  stops.push(() => app.stop());
  await app.start();
  return app;
}

async function scrape(url: string | undefined): Promise<Map<string, Family>> {
  if (!url) throw new Error('no metrics url');
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await res.text());
}

describe('metrics over TCP and TLS', () => {
  it('counts streams, bytes, connects, failures, refusals, registry, heartbeats, peers and calls', async () => {
    const registry = `sqlite:${join(dir, 'registry.db')}`;
    const server = await peer('server', registry, [tcp(), tlsFor('server')]);
    server.to('*').provide('echo', (text: string, cb: (reply: string) => void) => cb(text));
    // Answers once the test lets it (no timing: a loaded machine cannot make it answer early).
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.to('*').provide('slow', async () => {
      await released;
      return 'done';
    });
    server.to('*').provide('fail', () => {
      throw new Error('no');
    });
    const viaTls = await peer('client-tls', registry, [tlsFor('client-tls')]);
    const viaTcp = await peer('client-tcp', registry, [tcp()]);

    // The record advertises the metrics endpoint, on loopback.
    const [record] = (await viaTcp.peers('server')) as InstanceRecord[];
    expect(record?.metadata.metrics).toEqual({
      port: expect.any(Number),
      path: '/metrics',
      host: '127.0.0.1',
    });
    expect(server.metrics.url).toBe(
      `http://127.0.0.1:${(record?.metadata.metrics as { port: number }).port}/metrics`,
    );

    // 3 promise calls over TLS, 2 over TCP, one failing call, one callback-style call.
    const tlsStream = viaTls.to('server');
    const stream = viaTcp.to('server');
    for (let i = 0; i < 3; i++) expect(await tlsStream.call('echo', `tls ${i}`)).toBe(`tls ${i}`);
    for (let i = 0; i < 2; i++) expect(await stream.call('echo', `tcp ${i}`)).toBe(`tcp ${i}`);
    await expect(stream.call('fail')).rejects.toThrow(/no/);
    const viaCallback = await new Promise<string>((resolve) => stream.callRemote('echo', 'cb', resolve));
    expect(viaCallback).toBe('cb');
    // One call still waiting for its reply: one pending callback on the caller.
    const slow = tlsStream.call('slow');

    // A record pointing at a closed port: a dial failure. One pointing at the server under another
    // name: the server refuses the hello (wrong-peer), both sides count it.
    const now = Date.now();
    const fake = (name: string, port: number): Omit<InstanceRecord, 'expiresAt'> => ({
      name,
      instanceId: `fake-${name}`,
      namespace: 'default',
      endpoints: [{ transport: 'tcp', host: '127.0.0.1', port }],
      methods: [],
      metadata: {},
      registeredAt: now,
    });
    const tcpPort = (server.record.endpoints.find((e) => e.transport === 'tcp') as { port: number }).port;
    await viaTcp.registry.register(fake('ghost', 1), 60_000);
    await viaTcp.registry.register(fake('impostor', tcpPort), 60_000);
    await expect(viaTcp.connect('ghost', { timeout: 300 })).rejects.toThrow();
    await expect(viaTcp.connect('impostor', { timeout: 300 })).rejects.toThrow();

    // Let a few heartbeats pass (ttl 900 ms: one every 300 ms).
    await new Promise((resolve) => setTimeout(resolve, 700));

    const s = await scrape(server.metrics.url);
    const c = await scrape(viaTcp.metrics.url);
    const t = await scrape(viaTls.metrics.url);

    // Every listed metric is in the scrape.
    for (const def of Object.values(METRICS)) {
      const name = def.prom.replace(/_total$/, '');
      expect(s.has(def.prom) || s.has(name), def.prom).toBe(true);
    }

    // Streams: the server accepted one TLS and one TCP stream (and refused the impostor's).
    expect(total(s, 'sidecar_streams_opened_total', { direction: 'incoming', transport: 'tls' })).toBe(1);
    expect(total(s, 'sidecar_streams_opened_total', { direction: 'incoming', transport: 'tcp' })).toBe(1);
    expect(total(s, 'sidecar_streams_active', { direction: 'incoming' })).toBe(2);
    expect(total(s, 'sidecar_streams_closed_total')).toBe(0);
    expect(total(t, 'sidecar_streams_opened_total', { direction: 'outgoing', transport: 'tls' })).toBe(1);
    expect(total(c, 'sidecar_streams_opened_total', { direction: 'outgoing', transport: 'tcp' })).toBe(1);
    // Bytes: the calls carried at least their JSON.
    expect(total(s, 'sidecar_received_bytes_total', { transport: 'tls' })).toBeGreaterThan(3 * 20);
    expect(total(s, 'sidecar_sent_bytes_total', { transport: 'tcp' })).toBeGreaterThan(2 * 20);
    expect(total(c, 'sidecar_sent_bytes_total')).toBeGreaterThan(0);

    // Connect by name: a lookup, dial and handshake for each successful connect, each plausible.
    expect(total(c, 'sidecar_connect_duration_seconds', { phase: 'handshake', error_type: '' })).toBe(1);
    expect(total(c, 'sidecar_connect_duration_seconds', { phase: 'lookup' })).toBeGreaterThanOrEqual(3);
    const dial = c.get('sidecar_connect_duration_seconds')?.samples.find((x) => x.labels.phase === 'dial');
    expect(dial?.sum).toBeGreaterThan(0);
    expect(dial?.sum).toBeLessThan(5);

    // Failures: ECONNREFUSED to the ghost; the impostor's hello refused on both sides.
    expect(total(c, 'sidecar_dial_failures_total', { error_type: 'ECONNREFUSED' })).toBeGreaterThanOrEqual(1);
    expect(
      total(c, 'sidecar_dial_failures_total', { error_type: 'SIDECAR_ERR_HELLO_REFUSED' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      total(c, 'sidecar_hello_refusals_total', { side: 'client', reason: 'wrong-peer' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      total(s, 'sidecar_hello_refusals_total', { side: 'server', reason: 'wrong-peer' }),
    ).toBeGreaterThanOrEqual(1);

    // Registry: the registration, metadata update and renewals, no errors; heartbeats ran.
    expect(
      total(s, 'sidecar_registry_operation_duration_seconds', { operation: 'register' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      total(s, 'sidecar_registry_operation_duration_seconds', { operation: 'renew' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      total(c, 'sidecar_registry_operation_duration_seconds', { operation: 'lookup' }),
    ).toBeGreaterThanOrEqual(1);
    expect(total(s, 'sidecar_registry_operation_errors_total')).toBe(0);
    expect(total(s, 'sidecar_heartbeat_ttl_seconds')).toBe(0.9);
    const lag = total(s, 'sidecar_heartbeat_lag_seconds');
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(0.9);
    expect(total(s, 'sidecar_heartbeat_failures_total')).toBe(0);

    // Peers known per name (the fakes included: they are in the registry).
    expect(total(s, 'sidecar_peers_known', { peer_name: 'server' })).toBe(1);
    expect(total(s, 'sidecar_peers_known', { peer_name: 'client-tls' })).toBe(1);
    expect(total(s, 'sidecar_peers_known', { peer_name: 'ghost' })).toBe(1);

    // Calls: the server served 6 echo/fail calls, one failed; the slow one is still running.
    expect(total(s, 'rpc_server_call_duration_seconds', { rpc_method: 'echo' })).toBe(6);
    expect(total(s, 'rpc_server_call_duration_seconds', { rpc_method: 'fail', error_type: 'Error' })).toBe(1);
    expect(total(s, 'sidecar_rpc_errors_total', { side: 'server', rpc_method: 'fail' })).toBe(1);
    expect(total(t, 'rpc_client_call_duration_seconds', { rpc_method: 'echo', rpc_system: 'pillion' })).toBe(
      3,
    );
    expect(total(c, 'rpc_client_call_duration_seconds', { rpc_method: 'echo' })).toBe(3);
    expect(total(c, 'sidecar_rpc_errors_total', { side: 'client', rpc_method: 'fail' })).toBe(1);
    const echo = t
      .get('rpc_client_call_duration_seconds')
      ?.samples.find((x) => x.labels.rpc_method === 'echo');
    expect(echo?.sum).toBeGreaterThan(0);
    expect(echo?.sum).toBeLessThan(5);
    expect(total(t, 'sidecar_rpc_pending_callbacks')).toBe(1);
    expect(total(c, 'sidecar_rpc_pending_callbacks')).toBe(0);

    release();
    expect(await slow).toBe('done');
    const after = await scrape(viaTls.metrics.url);
    expect(total(after, 'sidecar_rpc_pending_callbacks')).toBe(0);
    expect(total(after, 'rpc_client_call_duration_seconds', { rpc_method: 'slow' })).toBe(1);

    // A closed stream is counted as closed and no longer active.
    stream.destroy();
    await eventually(async () => {
      const again = await scrape(server.metrics.url);
      expect(total(again, 'sidecar_streams_closed_total', { direction: 'incoming', outcome: 'ok' })).toBe(1);
      expect(total(again, 'sidecar_streams_active', { direction: 'incoming' })).toBe(1);
    });
  });

  it('serves nothing but the metrics path, binds loopback, and stops with the sidecar', async () => {
    const registry = `sqlite:${join(dir, 'lifecycle.db')}`;
    const app = await peer('lonely', registry, [tcp()]);
    const url = app.metrics.url as string;
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);
    // Garbage on the port (a scanner): that connection is closed, the server keeps serving.
    const { port } = new URL(url);
    const raw = connect(Number(port), '127.0.0.1');
    raw.on('error', () => {});
    raw.resume();
    raw.end(Buffer.from([0, 1, 2, 255, 13, 10, 13, 10, 0x16, 0x03, 0x01]));
    await once(raw, 'close');
    expect((await fetch(url)).status).toBe(200);
    await app.stop();
    expect(app.metrics.url).toBeUndefined();
    await expect(fetch(url)).rejects.toThrow();
  });

  it('leaves every channel without subscribers when no sidecar has the plugin (nothing is built)', async () => {
    const subscribed = () => Object.values(DIAGNOSTICS).filter((name) => channel(name).hasSubscribers);
    for (const stop of stops.splice(0).reverse()) await stop();
    const registry = `sqlite:${join(dir, 'off.db')}` as const;
    const plain = createSidecar({ name: 'plain', registry, transports: [tcp()] });
    stops.push(() => plain.stop());
    await plain.start();
    expect(plain.record.metadata).toEqual({});
    expect(subscribed()).toEqual([]);
    expect(rpcObserved()).toBe(false);
    const measured = await peer('measured', registry, [tcp()]);
    // RPC calls are observed directly (observeRpcCalls), the other points through their channels.
    const channels = Object.values(DIAGNOSTICS).filter((name) => name !== DIAGNOSTICS.rpcCall);
    expect(subscribed().sort()).toEqual(channels.sort());
    expect(rpcObserved()).toBe(true);
    await measured.stop();
    expect(subscribed()).toEqual([]);
    expect(rpcObserved()).toBe(false);
  });
});
