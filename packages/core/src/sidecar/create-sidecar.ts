import type { Duplex } from 'node:stream';
import type { NamedWrappers, SidecarConfig, WrapperSpec } from '../config/config.js';
import type { ServicePlugin, WrapperPlugin } from '../contracts/plugin.js';
import type { StreamWrapper } from '../contracts/wrapper.js';
import { Sidecar } from './sidecar.js';

/** A wrapper given by name stands for the plugin its package declared under that name. */
type PluginOf<W> = W extends keyof NamedWrappers ? NamedWrappers[W] : W;

type OutputOf<W> =
  PluginOf<W> extends WrapperPlugin<infer O, object, object>
    ? O
    : W extends StreamWrapper<never, infer O>
      ? O
      : Duplex;

/** The stream type a wrapper chain produces: the last wrapper's output (a plugin of `never` passes it through). */
export type ChainOutput<W extends readonly unknown[]> = W extends readonly [...infer Init, infer Last]
  ? [OutputOf<Last>] extends [never]
    ? ChainOutput<Init>
    : OutputOf<Last>
  : Duplex;

/** What a wrapper chain adds to groups. */
export type GroupExtensions<W extends readonly unknown[]> = W extends readonly [infer Head, ...infer Tail]
  ? (PluginOf<Head> extends WrapperPlugin<Duplex, infer X, object> ? X : unknown) & GroupExtensions<Tail>
  : unknown;

/** What a wrapper chain adds to the sidecar. */
export type SidecarExtensions<W extends readonly unknown[]> = W extends readonly [infer Head, ...infer Tail]
  ? (PluginOf<Head> extends WrapperPlugin<Duplex, object, infer X> ? X : unknown) & SidecarExtensions<Tail>
  : unknown;

/** What service plugins add to the sidecar. */
export type PluginExtensions<P extends readonly unknown[]> = P extends readonly [infer Head, ...infer Tail]
  ? (Head extends ServicePlugin<infer X> ? X : unknown) & PluginExtensions<Tail>
  : unknown;

/** The type `createSidecar` returns for a given wrapper list. */
export type SidecarOf<W extends readonly unknown[]> = Sidecar<ChainOutput<W>, GroupExtensions<W> & object> &
  SidecarExtensions<W>;

/**
 * Makes a peer from one config object. Resolves and checks the config at once (invalid names,
 * values and unknown registries or transports throw here); plugins named by string load in
 * `start()`.
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
export function createSidecar<
  const W extends readonly WrapperSpec[] = [],
  const P extends readonly ServicePlugin[] = [],
>(config: SidecarConfig<W, P>): SidecarOf<W> & PluginExtensions<P> {
  return new Sidecar(config as SidecarConfig) as unknown as SidecarOf<W> & PluginExtensions<P>;
}
