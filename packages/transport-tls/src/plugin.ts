import { CONFIG, resolve, type TransportPlugin } from '@sidecar/core';
import type { TlsOptions } from './tls-options.js';
import { TlsTransport } from './tls-transport.js';

/**
 * The TLS transport plugin (`transports: ['tls']` or `[tls({...})]`): mutual TLS where each
 * peer's certificate names it with the URI SAN `sidecar://<namespace>/<name>`.
 *
 * @example
 * ```ts
 * import { tls } from '@sidecar/transport-tls';
 * createSidecar({
 *   name: 'billing',
 *   transports: [tls({ ca: 'certs/ca.crt', cert: 'certs/billing.crt', key: 'certs/billing.key' }), 'tcp'],
 * });
 * ```
 */
export function tls(options: TlsOptions = {}): TransportPlugin {
  return {
    kind: 'transport',
    name: 'tls',
    create: (container) => new TlsTransport({ env: resolve(container, CONFIG).env, ...options }),
  };
}
