import { DEFAULT_HOST_ADDRESS_CHECK_INTERVAL } from './host-addresses.js';

/** Default namespace of every registry. */
export const DEFAULT_NAMESPACE = 'default';
/** Default lifetime of a cached lookup when no watch keeps it fresh, in ms. */
export const DEFAULT_CACHE_TTL = 1000;
/** Default lifetime of a cached lookup while a watch invalidates it on changes, in ms. */
export const DEFAULT_WATCHED_CACHE_TTL = 10_000;
/** Default interval between sweeps for expired records, in ms. */
export const DEFAULT_SWEEP_INTERVAL = 1000;
/** Default number of distinct names whose lookups are cached (least recently used ones are dropped). */
export const DEFAULT_MAX_CACHED_NAMES = 10_000;
/** Default number of registry calls in a row that time out before the connection is dropped and made again. */
export const DEFAULT_RECONNECT_AFTER_TIMEOUTS = 2;

/** Options every registry built on BaseRegistry accepts. */
export interface BaseRegistryOptions {
  /** Namespace: peers only see peers of the same namespace. @default 'default' */
  namespace?: string;
  /** How long a lookup result is reused without a watch, in ms. @default 1000 */
  cacheTtl?: number;
  /** How long a lookup result is reused while watching (changes invalidate it), in ms. @default 10000 */
  watchedCacheTtl?: number;
  /** How often this peer sweeps expired records (and announces their timeout), in ms. @default 1000 */
  sweepInterval?: number;
  /** Most distinct names kept in the lookup cache; the least recently used are dropped. @default 10000 */
  maxCachedNames?: number;
  /**
   * Registry calls in a row that time out before the registry drops its connections and makes
   * new ones (a path that went dead: a vanished source address, a frozen server). @default 2
   */
  reconnectAfterTimeouts?: number;
  /**
   * How often a network registry checks this host's addresses, in ms: when the address a
   * registry connection uses disappears (DHCP), the connection is made again at once. @default 1000
   */
  addressCheckInterval?: number;
  /**
   * When the registry answers again after an outage (or a reconnect), renew this registry's own
   * records with a full lifetime, and write back those the store lost. @default true
   */
  restoreOnReconnect?: boolean;
}

/** BaseRegistryOptions with every default applied. */
export type ResolvedRegistryOptions = Readonly<Required<BaseRegistryOptions>>;

/** Applies the defaults (named constants above) to a registry's options. */
export function resolveRegistryOptions(options: BaseRegistryOptions): ResolvedRegistryOptions {
  return Object.freeze({
    namespace: options.namespace ?? DEFAULT_NAMESPACE,
    cacheTtl: options.cacheTtl ?? DEFAULT_CACHE_TTL,
    watchedCacheTtl: options.watchedCacheTtl ?? DEFAULT_WATCHED_CACHE_TTL,
    sweepInterval: options.sweepInterval ?? DEFAULT_SWEEP_INTERVAL,
    maxCachedNames: Math.max(1, options.maxCachedNames ?? DEFAULT_MAX_CACHED_NAMES),
    reconnectAfterTimeouts: options.reconnectAfterTimeouts ?? DEFAULT_RECONNECT_AFTER_TIMEOUTS,
    addressCheckInterval: options.addressCheckInterval ?? DEFAULT_HOST_ADDRESS_CHECK_INTERVAL,
    restoreOnReconnect: options.restoreOnReconnect ?? true,
  });
}
