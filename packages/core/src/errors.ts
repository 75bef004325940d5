/** Every failure sidecar reports, by area; see errors/sidecar-error.ts for the base class. */
export * from './errors/config-errors.js';
export * from './errors/connect-errors.js';
export * from './errors/registry-errors.js';
export * from './errors/sidecar-error.js';
