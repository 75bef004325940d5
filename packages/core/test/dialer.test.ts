import {
  HelloRefusedError,
  MemoryTransport,
  openRegistry,
  PeerUnreachableError,
  type SidecarError,
  summarizeAttempts,
  type Transport,
} from '@sidecar/core';
import { MAX_ENDPOINTS_PER_INSTANCE } from '@sidecar/core/plugin-kit';
import { duplexPair } from '@sidecar/core/testing';
import { encodeHello } from '@sidecar/core/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { plugin, RecordingTransport, roundTrip, server, started, stopAll, storeUrl } from './dial-helpers.js';

describe('the dialer: several endpoints per record', () => {
  afterEach(stopAll);

  it('moves past an unreachable address at once and never dials unspecified, broadcast or multicast', async () => {
    await server((port) =>
      ['10.255.0.1', '0.0.0.0', '::', '255.255.255.255', '224.0.0.7', 'ff02::1', 'memory'].map((host) => ({
        transport: 'memory',
        host,
        port,
      })),
    );
    const rec = new RecordingTransport('memory', { '10.255.0.1': 'unreachable' });
    const caller = await started('caller', { register: false, transports: [plugin(rec)] });
    expect(await roundTrip(caller, 'past the dead address')).toBe('past the dead address');
    expect(rec.dialed.map((e) => e.host)).toEqual(['10.255.0.1', 'memory']);
  });

  it('falls back to the next transport both sides speak', async () => {
    await server((port) => [
      { transport: 'alpha', host: '10.255.0.2', port },
      { transport: 'memory', host: 'memory', port },
    ]);
    const alpha = new RecordingTransport('alpha', { '10.255.0.2': 'refused' });
    const memory = new RecordingTransport('memory');
    const caller = await started('caller', { register: false, transports: [plugin(alpha), plugin(memory)] });
    expect(await roundTrip(caller, 'second transport')).toBe('second transport');
    expect(alpha.dialed.map((e) => e.host)).toEqual(['10.255.0.2']);
    expect(memory.dialed.map((e) => e.host)).toEqual(['memory']);
  });

  it('races the next endpoint when the first stays silent, without waiting for the dial timeout', async () => {
    await server((port) => [
      { transport: 'memory', host: '10.255.0.3', port },
      { transport: 'memory', host: 'memory', port },
    ]);
    const rec = new RecordingTransport('memory', { '10.255.0.3': 'silent' });
    // A dial timeout longer than the whole connect: only the staggered race can succeed.
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      dialTimeout: 60_000,
      connectTimeout: 30_000,
      endpointStagger: 50,
    });
    expect(await roundTrip(caller, 'raced')).toBe('raced');
    expect(rec.dialed.map((e) => e.host)).toEqual(['10.255.0.3', 'memory']);
  });

  it('says which addresses were tried and why, and dials a dead instance once per connect', async () => {
    await server((port) => [
      { transport: 'memory', host: '10.255.0.4', port },
      { transport: 'memory', host: '10.255.0.5', port },
    ]);
    const rec = new RecordingTransport('memory', { '10.255.0.4': 'unreachable', '10.255.0.5': 'refused' });
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      connectTimeout: 800,
    });
    const err = (await caller.connect('server').catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.message).toContain('10.255.0.4:');
    expect(err.message).toContain('ENETUNREACH');
    expect(err.message).toContain('advertiseHost');
    expect(err.message).toContain('10.255.0.5:');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message.split('\n')).toHaveLength(1);
    // Each address once, although the connect kept looking for a new instance until its timeout.
    expect(rec.dialed.map((e) => e.host)).toEqual(['10.255.0.4', '10.255.0.5']);
    expect(err.retryable).toBe(true);
  });

  it('dials at most MAX_ENDPOINTS_PER_INSTANCE endpoints of one record (a hostile row is no port scanner)', async () => {
    await server((port) =>
      Array.from({ length: 200 }, (_, i) => ({
        transport: 'memory',
        host: `10.254.${i >> 8}.${i & 255}`,
        port,
      })),
    );
    const rec = new RecordingTransport(
      'memory',
      Object.fromEntries(
        Array.from({ length: 200 }, (_, i) => [`10.254.${i >> 8}.${i & 255}`, 'refused' as const]),
      ),
    );
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      connectTimeout: 300,
    });
    await expect(caller.connect('server')).rejects.toBeInstanceOf(PeerUnreachableError);
    expect(rec.dialed).toHaveLength(MAX_ENDPOINTS_PER_INSTANCE);
  });

  it('summarises repeated causes once, with a count', () => {
    const errors = [new Error('timed out at A'), new Error('timed out at A'), new Error('reset at B')];
    expect(summarizeAttempts(errors)).toBe('3 attempts: timed out at A (x2); reset at B');
  });
});

describe('refusals a retry cannot cure', () => {
  afterEach(stopAll);

  it('fails at once on a wrong namespace, says what to fix, and the far side warns once', async () => {
    // The callee lives in namespace "other"; a record in "default" points at it (a shared
    // registry mix-up): its hello refusal names both namespaces.
    const callee = await started('server', { namespace: 'other' });
    const warnings: SidecarError[] = [];
    callee.on('warning', (e) => warnings.push(e));
    const registry = await openRegistry(storeUrl());
    await registry.register({ ...callee.record, namespace: 'default' }, 60_000);
    await registry.stop();
    const caller = await started('caller', { register: false, connectTimeout: 600_000 });
    const err = (await caller.connect('server').catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.retryable).toBe(false);
    expect(err.attempts).toHaveLength(1);
    expect(err.attempts[0]).toBeInstanceOf(HelloRefusedError);
    expect(err.message).toContain('namespace "other"');
    expect(err.message).toContain('give both sides the same namespace');
    expect(warnings.filter((w) => w instanceof HelloRefusedError)).toHaveLength(1);
  });
});

describe('a hostile far side', () => {
  afterEach(stopAll);

  it("keeps a refusal's text to one printable, bounded line", async () => {
    await server((port) => [{ transport: 'memory', host: 'liar', port }]);
    const liar: Transport = {
      name: 'memory',
      listen: (onConnection, options) => new MemoryTransport().listen(onConnection, options),
      async dial() {
        const [local, remote] = duplexPair();
        const message = `line one\nline two\u001b[2J\u001b]0;owned\u0007${'x'.repeat(5000)}`;
        remote.on('error', () => {});
        remote.resume();
        remote.end(encodeHello({ type: 'refuse', reason: 'wrong-peer', message }));
        return local;
      },
    };
    const caller = await started('caller', {
      register: false,
      transports: [plugin(liar)],
      connectTimeout: 300,
    });
    const err = (await caller.connect('server').catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(err.message).toContain('line one line two');
    expect(err.message.length).toBeLessThan(1000);
  });
});
