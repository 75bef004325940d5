import type { Duplex } from 'node:stream';
import type { DependencyContainer } from 'tsyringe';
import type { RegistryReach } from './registry.js';

/** Facts about the sidecar a plugin is registered into. */
export interface PluginContext {
  /** The name of the local peer. */
  peerName: string;
  /** The registry namespace. */
  namespace: string;
  /** The process environment (read `SIDECAR_*` variables from here, not from `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
}

interface PluginBase {
  /** Short name shown in errors and `peers()` output, e.g. `'redis'`. */
  readonly name: string;
  /** Registers the plugin's implementation under core's token in the sidecar's own container. */
  register(container: DependencyContainer, context: PluginContext): void;
}

/** A registry plugin registers a `Registry` under the `REGISTRY` token. */
export interface RegistryPlugin extends PluginBase {
  readonly kind: 'registry';
  /** Optional hint used before the registry is built. @default 'network' */
  readonly reach?: RegistryReach;
}

/** A transport plugin registers a `Transport` under the `TRANSPORT` token. */
export interface TransportPlugin extends PluginBase {
  readonly kind: 'transport';
}

/**
 * A wrapper plugin registers a `StreamWrapper` under the `WRAPPER` token, and may add methods to
 * groups (`to('*')`) and to the sidecar itself. The type parameters carry those additions into
 * the types of `createSidecar`'s result, so user code needs no casts.
 */
export interface WrapperPlugin<
  Out extends Duplex = Duplex,
  GroupExt extends object = object,
  SidecarExt extends object = object,
> extends PluginBase {
  readonly kind: 'wrapper';
  /** Adds members to every group; called once per group. */
  extendGroup?(group: import('../sidecar/group.js').PeerGroup<Out>): GroupExt;
  /** Adds members to the sidecar; called once, in `createSidecar`. */
  extendSidecar?(sidecar: import('../sidecar/sidecar.js').Sidecar<Out>): SidecarExt;
  /** Phantom member carrying the output stream type; never set. */
  readonly __out?: Out;
}

/** Any plugin. */
export type Plugin = RegistryPlugin | TransportPlugin | WrapperPlugin<Duplex, object, object>;
