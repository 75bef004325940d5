import type { BaseRegistryOptions } from '@sidecar/core/plugin-kit';
import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';

/** Server used when neither `url`, `cluster` nor `sentinel` is given. */
export const DEFAULT_URL = 'redis://127.0.0.1:6379';
/** Key prefix shared by every key this registry writes. */
export const DEFAULT_PREFIX = 'sidecar';
/** How long `start()` waits for the first connection (and authentication), in ms. */
export const DEFAULT_CONNECT_TIMEOUT = 5000;
/** How long one Redis command may take before it fails, in ms. */
export const DEFAULT_COMMAND_TIMEOUT = 2000;
/** Longest wait between two reconnection attempts, in ms. */
export const DEFAULT_MAX_RECONNECT_DELAY = 1000;
/** Idle time before TCP keepalive probes start on a registry connection, in ms. */
export const DEFAULT_KEEPALIVE = 1000;
/**
 * How long a connection being dropped may take to close gracefully before it is destroyed, in
 * ms (a frozen or unreachable server never answers the goodbye; ioredis' own default is 2000).
 */
export const DEFAULT_DISCONNECT_TIMEOUT = 250;
/** Most expired records one sweep script removes (it loops until none are left). */
export const DEFAULT_SWEEP_BATCH = 500;

/** A Redis Cluster to use instead of a single server. */
export interface RedisClusterConfig {
  /** Seed nodes, e.g. `[{ host: '10.0.0.1', port: 6379 }]` or `['redis://10.0.0.1:6379']`. @default (required) */
  nodes: ClusterNode[];
  /** Passed to ioredis `Cluster` (put the password in `redisOptions`). @default {} */
  options?: ClusterOptions;
}

/** Redis Sentinel settings, passed to ioredis: at least `sentinels` and the master `name`. */
export type RedisSentinelConfig = RedisOptions & Required<Pick<RedisOptions, 'sentinels' | 'name'>>;

/**
 * Options of the Redis registry.
 *
 * @example
 * ```ts
 * redisRegistry({ url: 'redis://app:secret@10.0.0.5:6379/2', prefix: 'shop' });
 * ```
 */
export interface RedisRegistryOptions extends BaseRegistryOptions {
  /** Server URL: `redis://[user:pass@]host:port[/db]`, `rediss://` for TLS. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** ioredis options, merged over the URL and the registry's defaults (standalone and Sentinel). @default {} */
  redis?: RedisOptions;
  /** Use a Redis Cluster (ioredis `Cluster`) instead of one server. @default undefined */
  cluster?: RedisClusterConfig;
  /** Use Redis Sentinel (ioredis sentinel options) instead of one server. @default undefined */
  sentinel?: RedisSentinelConfig;
  /** First part of every key, so many apps can share one Redis. No `{`, `}` or whitespace. @default 'sidecar' */
  prefix?: string;
  /** How long `start()` waits to connect and authenticate before it fails, in ms. @default 5000 */
  connectTimeout?: number;
  /** How long one command may take before it fails (the registry counts as unavailable), in ms. @default 2000 */
  commandTimeout?: number;
  /** Longest wait between reconnection attempts after the server went away, in ms. @default 1000 */
  maxReconnectDelay?: number;
}
