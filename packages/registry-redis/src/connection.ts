import { TimeoutError } from '@sidecar/core';
import { raceSignal } from '@sidecar/core/plugin-kit';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { connectError } from './errors.js';
import {
  DEFAULT_COMMAND_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_DISCONNECT_TIMEOUT,
  DEFAULT_KEEPALIVE,
  DEFAULT_MAX_RECONNECT_DELAY,
  DEFAULT_URL,
  type RedisRegistryOptions,
} from './options.js';
import { SCRIPTS, type ScriptCommands } from './scripts.js';

/** A standalone/Sentinel client or a Cluster client, with the registry's scripts defined. */
export type RedisClient = (Redis | Cluster) & ScriptCommands;

/** Where the registry connects, for messages (never contains a password). */
export function describeTarget(options: RedisRegistryOptions): string {
  if (options.cluster) {
    return `cluster [${options.cluster.nodes.map((n) => (typeof n === 'object' ? `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}` : String(n))).join(', ')}]`;
  }
  if (options.sentinel) return `sentinel master "${options.sentinel.name}"`;
  try {
    const url = new URL(options.url ?? DEFAULT_URL);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

/** The host a network registry is reached at (see Registry.host): URL, first cluster node or first Sentinel. */
export function targetHost(options: RedisRegistryOptions): string | undefined {
  const first = options.cluster?.nodes[0];
  if (options.cluster) {
    if (typeof first === 'object') return first.host ?? '127.0.0.1';
    if (typeof first === 'string' && /^rediss?:\/\//.test(first)) return hostOfUrl(first);
    return '127.0.0.1'; // a bare port number or "host:port" string
  }
  if (options.sentinel) return options.sentinel.sentinels[0]?.host ?? '127.0.0.1';
  return hostOfUrl(options.url ?? DEFAULT_URL);
}

/** The hostname of a URL without IPv6 brackets, or undefined when there is none. */
export function hostOfUrl(url: string): string | undefined {
  try {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    return host === '' ? undefined : host;
  } catch {
    return undefined;
  }
}

/** A write refused by a server that is (no longer) the master: reconnect, and find the real one. */
export function reconnectOnReadonly(err: Error): boolean {
  return /^READONLY|^LOADING|^MASTERDOWN/.test(err.message);
}

/**
 * Makes an unconnected client from the options. Registry defaults (lazy connect, no offline
 * queue so an outage fails calls at once, bounded reconnect delay, timeouts, TCP keepalive, a
 * reconnect when a demoted master refuses writes, and with Sentinel the failover detector that
 * follows a promotion at once) come first; the user's ioredis options override them.
 */
export function createClient(options: RedisRegistryOptions): RedisClient {
  const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  const maxDelay = options.maxReconnectDelay ?? DEFAULT_MAX_RECONNECT_DELAY;
  const retryStrategy = (times: number) => Math.min(times * 100, maxDelay);
  const base: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout,
    commandTimeout: options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT,
    keepAlive: DEFAULT_KEEPALIVE,
    disconnectTimeout: DEFAULT_DISCONNECT_TIMEOUT,
    retryStrategy,
    reconnectOnError: reconnectOnReadonly,
  };
  let client: Redis | Cluster;
  if (options.cluster) {
    const clusterOptions: ClusterOptions = options.cluster.options ?? {};
    client = new Cluster(options.cluster.nodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: retryStrategy,
      ...clusterOptions,
      // Cluster manages its node connections (lazy, reconnected by the cluster): only timeouts here.
      redisOptions: {
        connectTimeout,
        commandTimeout: base.commandTimeout,
        keepAlive: DEFAULT_KEEPALIVE,
        disconnectTimeout: DEFAULT_DISCONNECT_TIMEOUT,
        ...clusterOptions.redisOptions,
      },
    });
  } else if (options.sentinel) {
    // failoverDetector: listen to the sentinels' +switch-master and move to the new master at
    // once, instead of staying on a frozen (SIGSTOPped) or demoted one.
    client = new Redis({ ...base, failoverDetector: true, ...options.sentinel, ...options.redis });
  } else {
    client = new Redis(options.url ?? DEFAULT_URL, { ...base, ...options.redis });
  }
  for (const [name, script] of Object.entries(SCRIPTS)) client.defineCommand(name, script);
  return client as RedisClient;
}

/**
 * Connects a client and checks it answers, failing fast: a refused password is a RedisAuthError,
 * anything else a RegistryUnavailableError, and neither keeps reconnecting in the background.
 */
export async function connectClient(
  client: Redis | Cluster,
  target: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  let lastError: unknown;
  const onError = (err: unknown) => {
    lastError = err;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`no answer within ${timeoutMs} ms`, { cause: lastError })),
      timeoutMs,
    );
  });
  try {
    const ready = (async () => {
      await client.connect();
      await client.ping();
    })();
    ready.catch(() => {});
    await raceSignal(Promise.race([ready, timeout]), signal);
  } catch (err) {
    client.disconnect();
    if (signal?.aborted) throw err;
    throw connectError(lastError ?? err, target);
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}
