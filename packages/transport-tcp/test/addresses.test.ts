import { firstExternalIPv4, pickAddresses } from '@sidecar/transport-tcp';
import { describe, expect, it } from 'vitest';

describe('listen and advertise addresses', () => {
  it('uses loopback for a machine-local registry', () => {
    expect(pickAddresses({}, 'machine', {})).toEqual({
      listenHost: '127.0.0.1',
      advertiseHost: '127.0.0.1',
      follow: false,
    });
  });

  it('listens on all interfaces and advertises (and follows) an external IPv4 for a network registry', () => {
    expect(pickAddresses({}, 'network', {})).toEqual({
      listenHost: '0.0.0.0',
      advertiseHost: firstExternalIPv4(),
      follow: true,
    });
  });

  it("follows the machine's address with advertiseHost 'auto', whatever the registry", () => {
    expect(pickAddresses({ advertiseHost: 'auto' }, 'machine', { SIDECAR_HOST: '127.0.0.1' })).toEqual({
      listenHost: '0.0.0.0',
      advertiseHost: firstExternalIPv4(),
      follow: true,
    });
  });

  it('lets SIDECAR_HOST, host and advertiseHost pin the addresses', () => {
    expect(pickAddresses({}, 'network', { SIDECAR_HOST: '127.0.0.1' })).toEqual({
      listenHost: '127.0.0.1',
      advertiseHost: '127.0.0.1',
      follow: false,
    });
    expect(pickAddresses({ host: '127.0.0.2' }, 'network', {})).toEqual({
      listenHost: '127.0.0.2',
      advertiseHost: '127.0.0.2',
      follow: false,
    });
    expect(
      pickAddresses({ host: '0.0.0.0', advertiseHost: 'peer.example' }, 'machine', {
        SIDECAR_HOST: '127.0.0.1',
      }),
    ).toEqual({
      listenHost: '0.0.0.0',
      advertiseHost: 'peer.example',
      follow: false,
    });
  });
});
