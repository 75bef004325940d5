import { networkInterfaces } from 'node:os';
import type { RegistryReach } from '@sidecar/core';

const LOOPBACK = '127.0.0.1';
const ANY = '0.0.0.0';

/** Where to listen and what to advertise. */
export interface Addresses {
  listenHost: string;
  advertiseHost: string;
}

/** Options that pick addresses (shared by the TCP and TLS transports). */
export interface AddressOptions {
  /** Address to listen on. @default SIDECAR_HOST, else 127.0.0.1 for a machine-local registry, 0.0.0.0 for a network one */
  host?: string;
  /** Address to publish in the registry. @default SIDECAR_HOST, else `host` if specific, else 127.0.0.1 (machine-local registry) or this machine's first non-internal IPv4 */
  advertiseHost?: string;
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
 * Postgres) listen on all interfaces and advertise an address other machines can reach.
 * `SIDECAR_HOST` (listen on and advertise that address) and the options override it.
 */
export function pickAddresses(
  options: AddressOptions,
  reach: RegistryReach,
  env: Readonly<Record<string, string | undefined>>,
): Addresses {
  const fromEnv = env.SIDECAR_HOST || undefined;
  const listenHost = options.host ?? fromEnv ?? (reach === 'machine' ? LOOPBACK : ANY);
  const advertiseHost =
    options.advertiseHost ??
    fromEnv ??
    (!isWildcard(listenHost) ? listenHost : reach === 'machine' ? LOOPBACK : firstExternalIPv4());
  return { listenHost, advertiseHost };
}
