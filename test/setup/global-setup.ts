import { PG_BIN, RedisCluster, startPostgres, startRedis } from './servers/index.js';

/** The cluster of the main suite: no replicas, a relaxed node timeout (nothing fails over here). */
const CLUSTER_NODE_TIMEOUT = 2000;

/**
 * Vitest global setup. Every test talks to 127.0.0.1 only (SIDECAR_HOST). Starts, through the one
 * servers module, the real servers the tests share and publishes how to reach them:
 * SIDECAR_TEST_REDIS_URL (standalone), SIDECAR_TEST_REDIS_CLUSTER_NODES (3 masters,
 * comma-separated host:port) and SIDECAR_TEST_POSTGRES_URL. A missing server binary fails the
 * run with a message saying what to install.
 */
export default async function setup(): Promise<() => Promise<void>> {
  process.env.SIDECAR_HOST = '127.0.0.1';
  const started = await Promise.allSettled([
    startRedis(),
    RedisCluster.start({ nodeTimeout: CLUSTER_NODE_TIMEOUT }),
    startPostgres(),
  ] as const);
  const stops = started.flatMap((s) => (s.status === 'fulfilled' ? [() => s.value.stop()] : []));
  const stopAll = async () => {
    await Promise.all(stops.map((stop) => stop().catch(() => {})));
  };
  const [redis, cluster, postgres] = started;
  if (redis.status === 'rejected' || cluster.status === 'rejected' || postgres.status === 'rejected') {
    await stopAll();
    const failed = started.find((s) => s.status === 'rejected') as PromiseRejectedResult;
    throw failed.reason;
  }
  process.env.SIDECAR_TEST_REDIS_URL = redis.value.url;
  process.env.SIDECAR_TEST_REDIS_CLUSTER_NODES = cluster.value.seeds
    .map((s) => `${s.host}:${s.port}`)
    .join(',');
  process.env.SIDECAR_TEST_POSTGRES_URL = postgres.value.url;
  process.env.SIDECAR_TEST_PG_BIN = PG_BIN;
  process.env.SIDECAR_TEST_PG_DATA = postgres.value.dataDir;
  return stopAll;
}
