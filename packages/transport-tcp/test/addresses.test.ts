import { firstExternalIPv4, pickAddresses } from '@sidecar/transport-tcp';
import { describe, expect, it } from 'vitest';

describe('listen and advertise addresses', () => {
  it('uses loopback for a machine-local registry', () => {
    expect(pickAddresses({}, 'machine', {})).toEqual({ listenHost: '127.0.0.1', advertiseHost: '127.0.0.1' });
  });

  it('listens on all interfaces and advertises an external IPv4 for a network registry', () => {
    const picked = pickAddresses({}, 'network', {});
    expect(picked.listenHost).toBe('0.0.0.0');
    expect(picked.advertiseHost).toBe(firstExternalIPv4());
  });

  it('lets SIDECAR_HOST, host and advertiseHost override the defaults', () => {
    expect(pickAddresses({}, 'network', { SIDECAR_HOST: '127.0.0.1' })).toEqual({
      listenHost: '127.0.0.1',
      advertiseHost: '127.0.0.1',
    });
    expect(pickAddresses({ host: '127.0.0.2' }, 'network', {})).toEqual({
      listenHost: '127.0.0.2',
      advertiseHost: '127.0.0.2',
    });
    expect(
      pickAddresses({ host: '0.0.0.0', advertiseHost: 'peer.example' }, 'machine', {
        SIDECAR_HOST: '127.0.0.1',
      }),
    ).toEqual({
      listenHost: '0.0.0.0',
      advertiseHost: 'peer.example',
    });
  });
});
