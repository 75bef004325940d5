/**
 * `sidecar`: the one package to install for the defaults. Its default export is the original
 * API's constructor (`new sidecar('my-server-app')`, started by itself); the named exports are
 * everything of `@sidecar/core` (createSidecar, the contracts, the errors) and the default
 * plugins' factories. It also brings the `sidecar` command. From CommonJS, `require('sidecar')`
 * is the constructor, carrying the named exports as properties.
 *
 * @example
 * ```ts
 * import sidecar, { createSidecar, pillion } from 'sidecar';
 * const app = createSidecar({ name: 'billing', wrappers: [pillion()] });
 * const rpc = new sidecar('my-server-app');
 * ```
 */
import { OriginalSidecar } from './original.js';

export * from '@sidecar/core';
export { sqlRegistry } from '@sidecar/registry-sql';
export { tcp } from '@sidecar/transport-tcp';
export { pillion } from '@sidecar/wrapper-pillion';
export { OriginalSidecar } from './original.js';
export default OriginalSidecar;
