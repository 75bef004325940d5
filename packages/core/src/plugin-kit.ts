/**
 * @sidecar/core/plugin-kit: the building blocks of core's own adapters, for those who write a
 * registry or a transport: the registry base class and its hooks, record decoding, host
 * addresses, network ranges, AbortSignal helpers and small bounded structures.
 *
 * @example
 * ```ts
 * import { BaseRegistry, type StorageHooks } from '@sidecar/core/plugin-kit';
 * ```
 */
export { registryKindOf } from './container/builtins.js';
export { MAX_ENDPOINTS_PER_INSTANCE } from './pipeline/connector.js';
export { checkDialPolicy } from './pipeline/dial-policy.js';
export {
  decodeStored,
  parseRecord,
  parseStoredRecord,
  peerInfoOf,
  recordJsonHead,
  StoredRecord,
} from './records.js';
export { BaseRegistry } from './registry/base-registry.js';
export { isChangeType, type RawRegistryChange, type RegistryChange } from './registry/change-tracker.js';
export {
  DEFAULT_HOST_ADDRESS_CHECK_INTERVAL,
  hostAddresses,
  normalizeAddress,
  watchHostAddresses,
} from './registry/host-addresses.js';
export {
  type BaseRegistryOptions,
  DEFAULT_CACHE_TTL,
  DEFAULT_MAX_CACHED_NAMES,
  DEFAULT_NAMESPACE,
  DEFAULT_RECONNECT_AFTER_TIMEOUTS,
  DEFAULT_SWEEP_INTERVAL,
  DEFAULT_WATCHED_CACHE_TTL,
} from './registry/registry-options.js';
export { StorageHooks } from './registry/storage-hooks.js';
export { abortErrorOf, delay, onAbort, raceSignal, throwIfAborted, withTimeout } from './util/abort.js';
export { addressBits, inNetwork, type Network, parseNetwork, undialableReason } from './util/cidr.js';
export { LruMap } from './util/lru-map.js';
export { sourceAddress, type Waiting, WaitingRoom } from './util/waiting-room.js';
