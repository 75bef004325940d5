import { InvalidConfigError } from '@sidecar/core';
import {
  machineAddresses,
  parseHostList,
  pickAddresses,
  routeAddress,
  routeFirst,
} from '@sidecar/transport-tcp';
import { describe, expect, it } from 'vitest';

describe('listen and advertise addresses', () => {
  it('uses loopback for a machine-local registry', () => {
    expect(pickAddresses({}, 'machine', {})).toEqual({
      listenHost: '127.0.0.1',
      advertiseHosts: ['127.0.0.1'],
      follow: false,
    });
  });

  it('listens on all interfaces and advertises (and follows) every external IPv4 for a network registry', () => {
    expect(pickAddresses({}, 'network', {})).toEqual({
      listenHost: '0.0.0.0',
      advertiseHosts: machineAddresses('0.0.0.0', {}),
      follow: true,
    });
  });

  it("follows the machine's address with advertiseHost 'auto', whatever the registry", () => {
    expect(pickAddresses({ advertiseHost: 'auto' }, 'machine', { SIDECAR_HOST: '127.0.0.1' })).toEqual({
      listenHost: '0.0.0.0',
      advertiseHosts: machineAddresses('0.0.0.0', {}),
      follow: true,
    });
  });

  it('lets SIDECAR_HOST, host and advertiseHost pin the addresses', () => {
    expect(pickAddresses({}, 'network', { SIDECAR_HOST: '127.0.0.1' })).toEqual({
      listenHost: '127.0.0.1',
      advertiseHosts: ['127.0.0.1'],
      follow: false,
    });
    expect(pickAddresses({ host: '127.0.0.2' }, 'network', {})).toEqual({
      listenHost: '127.0.0.2',
      advertiseHosts: ['127.0.0.2'],
      follow: false,
    });
    expect(
      pickAddresses({ host: '0.0.0.0', advertiseHost: 'peer.example' }, 'machine', {
        SIDECAR_HOST: '127.0.0.1',
      }),
    ).toEqual({
      listenHost: '0.0.0.0',
      advertiseHosts: ['peer.example'],
      follow: false,
    });
  });

  it('reads advertiseHost "A,B" as a list, in that order, and refuses an empty entry', () => {
    expect(pickAddresses({ advertiseHost: '10.0.0.5, 192.168.1.5' }, 'network', {}).advertiseHosts).toEqual([
      '10.0.0.5',
      '192.168.1.5',
    ]);
    expect(() => parseHostList('10.0.0.5,,192.168.1.5')).toThrow(InvalidConfigError);
  });

  it('keeps only the networks asked for, and falls back to loopback when none is left', () => {
    expect(machineAddresses('0.0.0.0', { excludeNetworks: ['0.0.0.0/0'] })).toEqual(['127.0.0.1']);
    expect(machineAddresses('0.0.0.0', { advertiseNetworks: ['203.0.113.0/24'] })).toEqual(['127.0.0.1']);
    for (const address of machineAddresses('0.0.0.0', {})) expect(address).not.toMatch(/^127\./);
    expect(() => machineAddresses('0.0.0.0', { excludeNetworks: ['nonsense'] })).toThrow(InvalidConfigError);
  });

  it('finds the local address of the route to a host without sending anything, and puts it first', async () => {
    expect(await routeAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(routeFirst(['10.0.0.5', '192.168.1.5'], '192.168.1.5')).toEqual(['192.168.1.5', '10.0.0.5']);
    expect(routeFirst(['10.0.0.5'], '127.0.0.1')).toEqual(['10.0.0.5']);
  });
});
