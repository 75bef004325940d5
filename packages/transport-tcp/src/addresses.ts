import { networkInterfaces } from 'node:os';
import type { RegistryReach } from '@sidecar/core';

const LOOPBACK = '127.0.0.1';
const ANY = '0.0.0.0';

/** Where to listen and what to advertise. */
export interface Addresses {
  listenHost: string;
  advertiseHost: string;
  /** True when the advertised address is this machine's own, tracked as it changes (DHCP). */
  follow: boolean;
}

/** Default interval between checks of a followed address, in ms. */
export const DEFAULT_ADDRESS_CHECK_INTERVAL = 1000;

/** Options that pick addresses (shared by the TCP and TLS transports). */
export interface AddressOptions {
  /** Address to listen on. @default SIDECAR_HOST, else 127.0.0.1 for a machine-local registry, 0.0.0.0 for a network one (and with advertiseHost 'auto') */
  host?: string;
  /**
   * Address to publish in the registry, or `'auto'`: this machine's first non-internal IPv4,
   * followed as it changes (the record is updated, so callers find a peer whose DHCP lease moved).
   * @default SIDECAR_HOST, else `host` if specific, else 127.0.0.1 (machine-local registry) or 'auto' (network registry)
   */
  advertiseHost?: string;
  /** How often a followed address is checked, in ms. @default 1000 */
  addressCheckInterval?: number;
}

/** This machine's first non-internal IPv4 address, or 127.0.0.1 if it has none. */
export function firstExternalIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.family === 'IPv4' && !info.internal) return info.address;
  }
  return LOOPBACK;
}

function isWildcard(host: string): boolean {
  return host === ANY || host === '::' || host === '';
}

/**
 * Picks the listen and advertise addresses. With a machine-local registry (SQLite file, memory)
 * peers can only be on this machine, so loopback is both; with a network registry (Redis,
 * Postgres) listen on all interfaces and advertise (and follow) an address other machines can
 * reach. `SIDECAR_HOST` (listen on and advertise that address) and the options override it.
 */
export function pickAddresses(
  options: AddressOptions,
  reach: RegistryReach,
  env: Readonly<Record<string, string | undefined>>,
): Addresses {
  const fromEnv = env.SIDECAR_HOST || undefined;
  const auto = options.advertiseHost === 'auto';
  const listenHost = options.host ?? (auto ? ANY : (fromEnv ?? (reach === 'machine' ? LOOPBACK : ANY)));
  const pinned = auto ? undefined : (options.advertiseHost ?? fromEnv);
  if (pinned) return { listenHost, advertiseHost: pinned, follow: false };
  if (!auto && !isWildcard(listenHost)) return { listenHost, advertiseHost: listenHost, follow: false };
  if (!auto && reach === 'machine') return { listenHost, advertiseHost: LOOPBACK, follow: false };
  return { listenHost, advertiseHost: firstExternalIPv4(), follow: true };
}
