import { registryComplianceSuite } from '@sidecar/core/testing';
import { RedisRegistry } from '@sidecar/registry-redis';
import type { Cluster } from 'ioredis';
import { afterAll } from 'vitest';
import { clusterNodes, injectMalformed, rawClient, TEST_PREFIX } from './helpers.js';

let raw: Cluster | undefined;

afterAll(() => {
  raw?.disconnect();
});

registryComplianceSuite('redis cluster', {
  create: (options) =>
    new RedisRegistry({ cluster: { nodes: clusterNodes() }, prefix: TEST_PREFIX, ...options }),
  injectMalformed: async (namespace, name) => {
    raw ??= rawClient('cluster') as Cluster;
    await injectMalformed(raw, namespace, name);
  },
});
