import { hexName, KeyLayout } from '@sidecar/registry-redis';
import { Cluster, type ClusterNode, Redis } from 'ioredis';

/** Key prefix the tests use, so their keys never mix with anything else on the server. */
export const TEST_PREFIX = 'sidecar-test';

/** The standalone server the global setup started (test/setup/servers: the one module that starts servers). */
export function redisUrl(): string {
  const url = process.env.SIDECAR_TEST_REDIS_URL;
  if (!url) throw new Error('SIDECAR_TEST_REDIS_URL is not set: run the tests with vitest (global setup)');
  return url;
}

/** The cluster nodes the global setup started. */
export function clusterNodes(): ClusterNode[] {
  const nodes = process.env.SIDECAR_TEST_REDIS_CLUSTER_NODES;
  if (!nodes) throw new Error('SIDECAR_TEST_REDIS_CLUSTER_NODES is not set: run the tests with vitest');
  return nodes.split(',').map((address) => {
    const [host, port] = address.split(':');
    return { host: host as string, port: Number(port) };
  });
}

/** A raw ioredis client (standalone or cluster) for writing by hand, as a person with redis-cli would. */
export function rawClient(kind: 'standalone' | 'cluster'): Redis | Cluster {
  return kind === 'cluster' ? new Cluster(clusterNodes()) : new Redis(redisUrl());
}

/** Writes a value for `name` under instance `id` into every index, as a person could with redis-cli. */
export async function writeByHand(
  client: Redis | Cluster,
  keys: KeyLayout,
  name: string,
  id: string,
  value: string,
): Promise<void> {
  await client.hset(keys.name(name), id, value);
  await client.hset(keys.ids, id, hexName(name));
  await client.sadd(keys.names, hexName(name));
  await client.zadd(keys.expiry, Date.now() + 60_000, id);
}

/** Writes a malformed record for `name` (not JSON). */
export async function injectMalformed(
  client: Redis | Cluster,
  namespace: string,
  name: string,
  prefix = TEST_PREFIX,
): Promise<void> {
  const id = `bad-${Math.random().toString(36).slice(2)}`;
  await writeByHand(client, new KeyLayout(prefix, namespace), name, id, '{"name": this is not json');
}
