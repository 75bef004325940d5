/**
 * sidecar's registry on Redis (ioredis): standalone, Sentinel and Cluster.
 *
 * @example
 * ```ts
 * import { createSidecar } from '@sidecar/core';
 * const app = createSidecar({ name: 'billing', registry: 'redis://user:secret@10.0.0.5:6379' });
 * ```
 */
export { RedisAuthError } from './errors.js';
export { encodeNamespace, hexName, KeyLayout } from './keys.js';
export {
  DEFAULT_COMMAND_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_DISCONNECT_TIMEOUT,
  DEFAULT_KEEPALIVE,
  DEFAULT_MAX_RECONNECT_DELAY,
  DEFAULT_PREFIX,
  DEFAULT_SWEEP_BATCH,
  DEFAULT_URL,
  type RedisClusterConfig,
  type RedisRegistryOptions,
  type RedisSentinelConfig,
} from './options.js';
export { redisRegistry } from './plugin.js';
export { RedisRegistry } from './redis-registry.js';
