/**
 * Compliance suites for plugin authors, and test helpers. Import from `@sidecar/core/testing`
 * inside a vitest test file.
 */

export { duplexPair } from '../transport/duplex-pair.js';
export {
  type RegistryHarness,
  recordEvents,
  registryComplianceSuite,
  testRecord,
} from './registry-compliance.js';
export { readAll, type TransportHarness, transportComplianceSuite } from './transport-compliance.js';
export { eventually, sleep } from './wait.js';
export {
  byteExchange,
  type WrapperExchange,
  type WrapperHarness,
  wrapperComplianceSuite,
} from './wrapper-compliance.js';
