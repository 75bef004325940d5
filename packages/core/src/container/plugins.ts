import type { Duplex } from 'node:stream';
import type { DependencyContainer } from 'tsyringe';
import type { ResolvedConfig } from '../config/resolve-config.js';
import type { RegistryPlugin, TransportPlugin, WrapperPlugin } from '../contracts/plugin.js';
import type { WrapperChain } from '../pipeline/wrapper-chain.js';
import type { PeerGroup } from '../sidecar/group.js';
import type { Sidecar } from '../sidecar/sidecar.js';
import { loadRegistry, loadTransport, loadWrapper } from './builtins.js';
import { provide, REGISTRY, TRANSPORTS } from './tokens.js';

type GroupExtender = (group: PeerGroup<Duplex>) => object;

/**
 * Puts the config's plugins into the sidecar's container, in one way for all: plugin objects
 * when the sidecar is made, plugins given by name once `load()` has imported their package (in
 * `start()`). A registry or transport registered by the app before that is kept (the app's wins).
 */
export class Plugins {
  /** What wrapper plugins add to each group (`to(pattern)`), in install order. */
  readonly groupExtenders: GroupExtender[] = [];
  readonly #container: DependencyContainer;
  readonly #config: ResolvedConfig;
  readonly #sidecar: Sidecar<Duplex>;
  readonly #wrappers: WrapperChain;
  readonly #groups: () => Iterable<PeerGroup<Duplex>>;
  #loaded: Promise<void> | undefined;

  constructor(
    container: DependencyContainer,
    config: ResolvedConfig,
    parts: { sidecar: Sidecar<Duplex>; wrappers: WrapperChain; groups: () => Iterable<PeerGroup<Duplex>> },
  ) {
    this.#container = container;
    this.#config = config;
    this.#sidecar = parts.sidecar;
    this.#wrappers = parts.wrappers;
    this.#groups = parts.groups;
    if (typeof config.registry !== 'string') this.#installRegistry(config.registry);
    for (const [i, spec] of config.wrappers.entries()) {
      if (typeof spec === 'function') this.#wrappers.fill(i, spec);
      else if (typeof spec !== 'string') this.#installWrapper(i, spec);
    }
    for (const plugin of config.plugins) {
      plugin.register?.(container);
      plugin.install(container);
      if (plugin.extendSidecar) Object.assign(this.#sidecar, plugin.extendSidecar(this.#sidecar));
    }
  }

  /** Imports the plugins given by name and registers the transports; once, however often called. */
  load(): Promise<void> {
    this.#loaded ??= this.#load().catch((err: unknown) => {
      this.#loaded = undefined; // a missing package may be installed before the next start()
      throw err;
    });
    return this.#loaded;
  }

  async #load(): Promise<void> {
    const config = this.#config;
    if (typeof config.registry === 'string')
      this.#installRegistry(await loadRegistry(config.registry, config.registryOptions));
    const transports: TransportPlugin[] = [];
    for (const spec of config.transports) {
      transports.push(
        typeof spec === 'string' ? await loadTransport(spec, config.transportOptions[spec]) : spec,
      );
    }
    for (const plugin of transports) plugin.register?.(this.#container);
    if (!this.#container.isRegistered(TRANSPORTS, false)) {
      provide(this.#container, TRANSPORTS, { useFactory: (c) => transports.map((t) => t.create(c)) });
    }
    for (const [i, spec] of config.wrappers.entries()) {
      if (typeof spec === 'string')
        this.#installWrapper(i, await loadWrapper(spec, config.wrapperOptions[spec]));
    }
  }

  #installRegistry(plugin: RegistryPlugin): void {
    plugin.register?.(this.#container);
    if (!this.#container.isRegistered(REGISTRY, false))
      provide(this.#container, REGISTRY, { useFactory: (c) => plugin.create(c) });
  }

  #installWrapper(slot: number, plugin: WrapperPlugin): void {
    plugin.register?.(this.#container);
    this.#wrappers.fill(slot, plugin.create(this.#container));
    if (plugin.extendSidecar) Object.assign(this.#sidecar, plugin.extendSidecar(this.#sidecar));
    if (plugin.extendGroup) {
      const extend = plugin.extendGroup.bind(plugin) as GroupExtender;
      this.groupExtenders.push(extend);
      for (const group of this.#groups()) Object.assign(group, extend(group));
    }
  }
}
