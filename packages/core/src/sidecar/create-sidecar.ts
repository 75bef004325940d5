import type { Duplex } from 'node:stream';
import type { WrapperPlugin } from '../contracts/plugin.js';
import type { StreamWrapper } from '../contracts/wrapper.js';
import { InvalidConfigError } from '../errors.js';
import { isKnownTransport, isKnownWrapper, registryKindOf } from './builtins.js';
import type { SidecarConfig, WrapperSpec } from './config.js';
import { Sidecar } from './sidecar.js';

type OutputOf<W> =
  W extends WrapperPlugin<infer O, object, object> ? O : W extends StreamWrapper<never, infer O> ? O : Duplex;

/** The stream type a wrapper chain produces: the last wrapper's output (a plugin of `never` passes it through). */
export type ChainOutput<W extends readonly unknown[]> = W extends readonly [...infer Init, infer Last]
  ? [OutputOf<Last>] extends [never]
    ? ChainOutput<Init>
    : OutputOf<Last>
  : Duplex;

/** What a wrapper chain adds to groups. */
export type GroupExtensions<W extends readonly unknown[]> = W extends readonly [infer Head, ...infer Tail]
  ? (Head extends WrapperPlugin<Duplex, infer X, object> ? X : unknown) & GroupExtensions<Tail>
  : unknown;

/** What a wrapper chain adds to the sidecar. */
export type SidecarExtensions<W extends readonly unknown[]> = W extends readonly [infer Head, ...infer Tail]
  ? (Head extends WrapperPlugin<Duplex, object, infer X> ? X : unknown) & SidecarExtensions<Tail>
  : unknown;

/** The type `createSidecar` returns for a given wrapper list. */
export type SidecarOf<W extends readonly unknown[]> = Sidecar<ChainOutput<W>, GroupExtensions<W> & object> &
  SidecarExtensions<W>;

/**
 * Makes a peer from one config object. Checks the config at once (invalid names and unknown
 * registries or transports throw here); plugins named by string load in `start()`.
 *
 * @example
 * ```ts
 * import { createSidecar } from '@sidecar/core';
 *
 * const app = createSidecar({ name: 'billing' });           // SQLite registry, TCP
 * await app.start();
 * app.on('stream', (stream, peer) => stream.end(`hi ${peer.name}\n`));
 * ```
 */
export function createSidecar<const W extends readonly WrapperSpec[] = []>(
  config: SidecarConfig<W>,
): SidecarOf<W> {
  checkSidecarConfig(config);
  return new Sidecar(config as SidecarConfig) as unknown as SidecarOf<W>;
}

/**
 * Checks a config the way `createSidecar` does, at once: a missing config, an unknown registry,
 * transport or wrapper throw InvalidConfigError. For code that builds a Sidecar itself (the
 * umbrella package's `new sidecar(name)`).
 */
export function checkSidecarConfig(config: SidecarConfig<readonly WrapperSpec[]>): void {
  if (!config || typeof config !== 'object')
    throw new InvalidConfigError('createSidecar needs a config object: { name }');
  if (typeof config.registry === 'string') registryKindOf(config.registry);
  else if (config.registry !== undefined && config.registry.kind !== 'registry') {
    throw new InvalidConfigError('config.registry must be a registry name, a URL, or a registry plugin');
  }
  const envRegistry = (config.env ?? process.env).SIDECAR_REGISTRY;
  if (config.registry === undefined && envRegistry) registryKindOf(envRegistry);
  for (const t of config.transports ?? []) {
    if (typeof t === 'string' ? !isKnownTransport(t) : t?.kind !== 'transport') {
      throw new InvalidConfigError(
        `unknown transport ${JSON.stringify(typeof t === 'string' ? t : t?.name)}: use 'tcp', 'tls', 'memory' or a transport plugin`,
      );
    }
  }
  for (const w of config.wrappers ?? []) {
    if (typeof w === 'string' ? !isKnownWrapper(w) : typeof w !== 'function' && w?.kind !== 'wrapper') {
      throw new InvalidConfigError(
        `unknown wrapper ${JSON.stringify(w)}: use 'pillion', a function or a wrapper plugin`,
      );
    }
  }
}
