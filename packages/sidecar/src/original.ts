import type { EventEmitter } from 'node:events';
import { type RegistrySpec, Sidecar, type SidecarConfig, type TransportSpec } from '@sidecar/core';

function configOf(
  name: string,
  registry: RegistrySpec | undefined,
  transport: TransportSpec | readonly TransportSpec[] | undefined,
): SidecarConfig {
  const config: SidecarConfig = { name };
  if (registry !== undefined) config.registry = registry;
  if (transport !== undefined) {
    config.transports = Array.isArray(transport) ? transport : [transport as TransportSpec];
  }
  return config;
}

/**
 * The original sidecar's API: `new sidecar(name, registry?, transport?)`. It is a Sidecar
 * (everything `createSidecar` gives) that starts by itself, so the original program runs as
 * written: add stream wrappers and provide methods right after `new`, in the same tick. A start
 * that fails is an `error` event whose message says what happened (with no `error` listener,
 * Node throws it: the program stops loudly, never silently).
 *
 * @example
 * ```js
 * const sidecar = require('sidecar');
 * const burro = require('burro');
 * const pillion = require('pillion');
 *
 * const rpc = new sidecar('my-server-app');
 * rpc.addStreamWrapper(burro.wrap);
 * rpc.addStreamWrapper((socket) => new pillion(socket));
 * rpc.to('*').provide('greet', (name, cb) => cb('hi there, ' + name));
 * ```
 */
export class OriginalSidecar extends Sidecar {
  /**
   * @param name This peer's name.
   * @param registry A registry name, URL (`sqlite:PATH`, `redis://...`, `postgres://...`) or plugin.
   *   @default SIDECAR_REGISTRY, else the embedded SQLite registry
   * @param transport A transport name or plugin, or several in preference order. @default 'tcp'
   */
  constructor(name: string, registry?: RegistrySpec, transport?: TransportSpec | readonly TransportSpec[]) {
    if (typeof name !== 'string') {
      throw new TypeError(
        `new sidecar(name): name must be a string such as 'my-server-app', got ${typeof name}; use createSidecar({ ... }) for a config object`,
      );
    }
    super(configOf(name, registry, transport));
    // start() marks the sidecar as starting at once: streams opened in this tick wait for it.
    this.start().catch((err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      if (!error.message.includes(`"${name}"`)) {
        error.message = `sidecar "${name}" could not start: ${error.message}`;
      }
      (this as EventEmitter).emit('error', error);
    });
  }
}
