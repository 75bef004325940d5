import type { Duplex } from 'node:stream';
import type { DependencyContainer } from 'tsyringe';
import type { Registry } from './registry.js';
import type { Transport } from './transport.js';
import type { StreamWrapper } from './wrapper.js';

/**
 * What every plugin has. A plugin is a factory: core calls `create(container)` when the sidecar
 * needs the part, and the plugin resolves from the container whatever it depends on (the
 * resolved `CONFIG`, the `EVENTS` bus, the `LOGGER`, the `CLOCK`, another plugin's service...).
 */
interface PluginBase {
  /** Short name shown in errors and `peers()` output, e.g. `'redis'`. */
  readonly name: string;
  /**
   * Registers services of the plugin's own in the sidecar's container, before anything is made
   * (for other plugins or the app to resolve). Optional.
   */
  register?(container: DependencyContainer): void;
}

/**
 * A registry plugin makes the sidecar's `Registry`.
 *
 * @example
 * ```ts
 * const plugin: RegistryPlugin = {
 *   kind: 'registry',
 *   name: 'mine',
 *   create: (container) => new MyRegistry({ namespace: resolve(container, CONFIG).namespace }),
 * };
 * ```
 */
export interface RegistryPlugin extends PluginBase {
  readonly kind: 'registry';
  /** Makes the registry; called once per sidecar. */
  create(container: DependencyContainer): Registry;
}

/** A transport plugin makes one `Transport`. */
export interface TransportPlugin extends PluginBase {
  readonly kind: 'transport';
  /** Makes the transport; called once per sidecar. */
  create(container: DependencyContainer): Transport;
}

/**
 * A wrapper plugin makes a `StreamWrapper`, and may add methods to groups (`to('*')`) and to the
 * sidecar itself. The type parameters carry those additions into the types of `createSidecar`'s
 * result, so user code needs no casts.
 */
export interface WrapperPlugin<
  Out extends Duplex = Duplex,
  GroupExt extends object = object,
  SidecarExt extends object = object,
> extends PluginBase {
  readonly kind: 'wrapper';
  /** Makes the wrapper; called once per sidecar, when the plugin is installed. */
  create(container: DependencyContainer): StreamWrapper<Duplex, Out>;
  /** Adds members to every group; called once per group. */
  extendGroup?(group: import('../sidecar/group.js').PeerGroup<Out>): GroupExt;
  /** Adds members to the sidecar; called once, when the plugin is installed. */
  extendSidecar?(sidecar: import('../sidecar/sidecar.js').Sidecar<Out>): SidecarExt;
  /** Phantom member carrying the output stream type; never set. */
  readonly __out?: Out;
}

/**
 * A service plugin adds a part that is none of the above: an observer of the event bus, an
 * exporter, a service other plugins resolve. `install` runs once, when the sidecar is made.
 *
 * @example
 * ```ts
 * const opened: ServicePlugin = {
 *   kind: 'service',
 *   name: 'opened',
 *   install(container) {
 *     resolve(container, EVENTS).on('open', (stream, info) => console.log(info.peer.name));
 *   },
 * };
 * ```
 */
export interface ServicePlugin<SidecarExt extends object = object> extends PluginBase {
  readonly kind: 'service';
  /** Wires the service up: resolve core's services and subscribe to the event bus. */
  install(container: DependencyContainer): void;
  /** Adds members to the sidecar; called once, after `install`. */
  extendSidecar?(sidecar: import('../sidecar/sidecar.js').Sidecar): SidecarExt;
}

/** Any plugin. */
export type Plugin =
  | RegistryPlugin
  | TransportPlugin
  | WrapperPlugin<Duplex, object, object>
  | ServicePlugin<object>;
