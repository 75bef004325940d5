/**
 * `sidecar`: the one package to install for the defaults. It re-exports `@sidecar/core`
 * (createSidecar, the contracts, the errors) and the default plugins' factories, and brings the
 * `sidecar` command.
 *
 * @example
 * ```ts
 * import { createSidecar } from 'sidecar';
 * const app = createSidecar({ name: 'billing' });
 * ```
 */
export * from '@sidecar/core';
export { sqlRegistry } from '@sidecar/registry-sql';
export { tcp } from '@sidecar/transport-tcp';
export { pillion } from '@sidecar/wrapper-pillion';
