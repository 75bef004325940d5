import { MemoryRegistry, MemoryTransport } from '@sidecar/core';
import { registryComplianceSuite, transportComplianceSuite } from '@sidecar/core/testing';

registryComplianceSuite('memory', {
  create: (options) => new MemoryRegistry({ ...options, store: 'compliance' }),
  injectMalformed: async (namespace, name) => {
    const probe = new MemoryRegistry({ namespace, store: 'compliance' });
    probe.injectRaw(`bad-${name}`, { name, namespace, instanceId: 'bad', endpoints: 'nope', methods: [] });
    probe.injectRaw(`worse-${name}`, '{not json');
  },
  propagationMs: 500,
  storeClockIsProcessClock: true,
});

const transport = new MemoryTransport();
transportComplianceSuite('memory', {
  server: () => transport,
  client: () => transport,
  rawConnect: (endpoint) => transport.dial(endpoint, { expect: { name: 'raw', namespace: 'default' } }),
});
