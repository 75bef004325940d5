import type { SidecarConfig } from '@sidecar/core';
import { type RedisRegistryOptions, redisRegistry } from '@sidecar/registry-redis';

/** A registry given as options (JSON), where a URL cannot say it all: Redis Sentinel or Cluster. */
export interface RegistrySpec {
  redis: RedisRegistryOptions;
}

/** The `registry` of a peer's sidecar config: a URL as it is, else the plugin the spec describes. */
export function registryOf(registry: string | RegistrySpec): SidecarConfig['registry'] {
  return typeof registry === 'string'
    ? (registry as SidecarConfig['registry'])
    : redisRegistry(registry.redis);
}
