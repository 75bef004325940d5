import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { InvalidConfigError, type RegistryReach } from '@sidecar/core';
import { inNetwork, type Network, parseNetwork } from '@sidecar/core/plugin-kit';

const LOOPBACK = '127.0.0.1';
const ANY = '0.0.0.0';
/** How long the route lookup to the registry host (a name may need DNS) may take, in ms. */
const ROUTE_LOOKUP_TIMEOUT = 1000;
/** Any port: a UDP connect only asks the kernel for a route, it sends nothing. */
const ROUTE_PROBE_PORT = 9;

/** Where to listen and what to advertise. */
export interface Addresses {
  listenHost: string;
  /** The hosts to advertise, best first (for a followed address: this machine's addresses now). */
  advertiseHosts: string[];
  /** True when the advertised addresses are this machine's own, tracked as they change (DHCP). */
  follow: boolean;
}

/** Default interval between checks of a followed address, in ms. */
export const DEFAULT_ADDRESS_CHECK_INTERVAL = 1000;

/** Options that pick addresses (shared by the TCP and TLS transports). */
export interface AddressOptions {
  /** Address to listen on. @default SIDECAR_HOST, else 127.0.0.1 for a machine-local registry, 0.0.0.0 for a network one (and with advertiseHost 'auto') */
  host?: string;
  /**
   * Address(es) to publish in the registry: one host, a comma-separated list (`"10.0.0.5,192.168.1.5"`,
   * tried by callers in that order), or `'auto'`: every address of this machine the listener
   * serves (IPv4 for `0.0.0.0`, IPv4 and global IPv6 for `::`), the one of the route to the
   * registry first, followed as they change (the record is updated: a DHCP move is found).
   * @default SIDECAR_HOST, else `host` if specific, else 127.0.0.1 (machine-local registry) or 'auto' (network registry)
   */
  advertiseHost?: string;
  /**
   * With `'auto'` addresses: advertise only addresses inside these networks (CIDRs such as
   * `10.0.0.0/8`, or single addresses).
   * @default undefined (every network)
   */
  advertiseNetworks?: readonly string[];
  /** With `'auto'` addresses: never advertise addresses inside these networks. @default [] */
  excludeNetworks?: readonly string[];
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

/** `"A, B"` -> `['A', 'B']`; an empty entry is a configuration error. */
export function parseHostList(text: string): string[] {
  const hosts = text.split(',').map((h) => h.trim());
  if (hosts.some((h) => h === '')) {
    throw new InvalidConfigError(
      `advertiseHost ${JSON.stringify(text)} has an empty entry; write "A" or "A,B"`,
    );
  }
  return hosts;
}

/**
 * The addresses of this machine a listener on `listenHost` serves and others may reach: every
 * non-internal IPv4 address (and, listening on `::`, every global IPv6 one; link-local IPv6 needs
 * a zone and is left out), inside `advertiseNetworks` when given and outside `excludeNetworks`.
 * Falls back to 127.0.0.1 when none is left (no network yet).
 */
export function machineAddresses(listenHost: string, options: AddressOptions): string[] {
  const include = options.advertiseNetworks?.map(parseNetwork);
  const exclude = (options.excludeNetworks ?? []).map(parseNetwork);
  const inAny = (address: string, networks: Network[]) => networks.some((n) => inNetwork(address, n));
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      const v6 = info.family === 'IPv6';
      if (v6 && (listenHost !== '::' || info.scopeid !== 0 || info.address.startsWith('fe80'))) continue;
      if (include && !inAny(info.address, include)) continue;
      if (inAny(info.address, exclude)) continue;
      if (!out.includes(info.address)) out.push(info.address);
    }
  }
  return out.length > 0 ? out : [LOOPBACK];
}

/**
 * The local address of this machine's route to `host`: a UDP socket connected to it learns the
 * source address the kernel would use, without sending a packet. Undefined when there is no route
 * (or the name does not resolve within a second).
 */
export function routeAddress(host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (address: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(address);
    };
    const timer = setTimeout(() => finish(undefined), ROUTE_LOOKUP_TIMEOUT);
    timer.unref();
    socket.on('error', () => finish(undefined));
    try {
      socket.connect(ROUTE_PROBE_PORT, host, () => {
        try {
          finish(socket.address().address);
        } catch {
          finish(undefined);
        }
      });
    } catch {
      finish(undefined);
    }
  });
}

/** `addresses` with `first` moved to the front when it is one of them. */
export function routeFirst(addresses: readonly string[], first: string | undefined): string[] {
  if (!first || !addresses.includes(first)) return [...addresses];
  return [first, ...addresses.filter((a) => a !== first)];
}

/**
 * Picks the listen and advertise addresses. With a machine-local registry (SQLite file, memory)
 * peers can only be on this machine, so loopback is both; with a network registry (Redis,
 * Postgres) listen on all interfaces and advertise (and follow) every address other machines may
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
  if (pinned) return { listenHost, advertiseHosts: parseHostList(pinned), follow: false };
  if (!auto && !isWildcard(listenHost)) return { listenHost, advertiseHosts: [listenHost], follow: false };
  if (!auto && reach === 'machine') return { listenHost, advertiseHosts: [LOOPBACK], follow: false };
  return { listenHost, advertiseHosts: machineAddresses(listenHost, options), follow: true };
}

/** The followed addresses now, the one of the route to `registryHost` first. */
export async function currentAddresses(
  listenHost: string,
  options: AddressOptions,
  registryHost: string | undefined,
): Promise<string[]> {
  const addresses = machineAddresses(listenHost, options);
  if (!registryHost || addresses.length < 2) return addresses;
  return routeFirst(addresses, await routeAddress(registryHost));
}
