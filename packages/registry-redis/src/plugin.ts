import { CONFIG, type RegistryPlugin, resolve } from '@sidecar/core';
import type { RedisRegistryOptions } from './options.js';
import { RedisRegistry } from './redis-registry.js';

/**
 * The Redis registry plugin. `createSidecar({ registry: 'redis://...' })` loads it by name; pass
 * it yourself for options a URL cannot carry (Cluster, Sentinel, ioredis settings).
 *
 * @example
 * ```ts
 * import { createSidecar } from '@sidecar/core';
 * import { redisRegistry } from '@sidecar/registry-redis';
 *
 * const app = createSidecar({
 *   name: 'billing',
 *   registry: redisRegistry({ cluster: { nodes: [{ host: '10.0.0.1', port: 6379 }] }, prefix: 'shop' }),
 * });
 * ```
 */
export function redisRegistry(options: RedisRegistryOptions = {}): RegistryPlugin {
  return {
    kind: 'registry',
    name: 'redis',
    create: (container) => new RedisRegistry({ namespace: resolve(container, CONFIG).namespace, ...options }),
  };
}
