import {
  allowNetworks,
  createSidecar,
  DialPolicyError,
  InvalidConfigError,
  PeerUnreachableError,
} from '@sidecar/core';
import { inNetwork, parseNetwork, undialableReason } from '@sidecar/core/plugin-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { plugin, RecordingTransport, roundTrip, server, started, stopAll } from './dial-helpers.js';

describe('the dial policy', () => {
  afterEach(stopAll);

  it('skips the endpoints the policy refuses', async () => {
    await server((port) => [
      { transport: 'memory', host: '192.168.77.1', port },
      { transport: 'memory', host: 'memory', port },
    ]);
    const rec = new RecordingTransport('memory');
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      dialPolicy: (e) => e.host === 'memory',
    });
    expect(await roundTrip(caller, 'allowed')).toBe('allowed');
    expect(rec.dialed.map((e) => e.host)).toEqual(['memory']);
  });

  it('fails at once, not retryable, when the policy leaves nothing to dial', async () => {
    await server((port) => [
      { transport: 'memory', host: '169.254.169.254', port },
      { transport: 'memory', host: '0.0.0.0', port },
    ]);
    const rec = new RecordingTransport('memory');
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      connectTimeout: 600_000,
      dialPolicy: allowNetworks('10.0.0.0/8', 'fd00::/8'),
    });
    const err = (await caller.connect('server').catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.retryable).toBe(false);
    expect(err.attempts.every((a) => a instanceof DialPolicyError)).toBe(true);
    expect(err.message).toContain('169.254.169.254');
    expect(err.message).toContain('unspecified');
    expect(rec.dialed).toEqual([]);
  });

  it('rejects a dialPolicy that is not a function', () => {
    expect(() =>
      createSidecar({ name: 'x', registry: 'memory:x', dialPolicy: 'none' as unknown as () => boolean }),
    ).toThrow(InvalidConfigError);
  });

  it('knows unspecified, broadcast and multicast addresses, in IPv4, IPv6 and mapped form', () => {
    for (const host of [
      '0.0.0.0',
      '0.1.2.3',
      '::',
      '255.255.255.255',
      '239.1.1.1',
      'ff05::2',
      '::ffff:224.0.0.1',
    ])
      expect(undialableReason(host), host).toBeDefined();
    for (const host of ['10.0.0.1', '127.0.0.1', '::1', 'fe80::1', '::ffff:10.1.2.3', 'billing.local'])
      expect(undialableReason(host), host).toBeUndefined();
    expect(inNetwork('10.1.2.3', parseNetwork('10.0.0.0/8'))).toBe(true);
    expect(inNetwork('11.1.2.3', parseNetwork('10.0.0.0/8'))).toBe(false);
    expect(inNetwork('fd12::5', parseNetwork('fd00::/8'))).toBe(true);
    expect(inNetwork('::ffff:10.0.0.9', parseNetwork('10.0.0.0/24'))).toBe(true);
    expect(inNetwork('host.example', parseNetwork('10.0.0.0/8'))).toBe(false);
    expect(() => parseNetwork('10.0.0.0/33')).toThrow(InvalidConfigError);
    expect(() => parseNetwork('not-a-net')).toThrow(InvalidConfigError);
  });
});
