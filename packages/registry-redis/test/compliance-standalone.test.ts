import { registryComplianceSuite } from '@sidecar/core/testing';
import { RedisRegistry } from '@sidecar/registry-redis';
import type { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { injectMalformed, rawClient, redisUrl, TEST_PREFIX } from './helpers.js';

let raw: Redis | undefined;

afterAll(() => {
  raw?.disconnect();
});

registryComplianceSuite('redis standalone', {
  create: (options) => new RedisRegistry({ url: redisUrl(), prefix: TEST_PREFIX, ...options }),
  injectMalformed: async (namespace, name) => {
    raw ??= rawClient('standalone') as Redis;
    await injectMalformed(raw, namespace, name);
  },
});
