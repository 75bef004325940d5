import { type DependencyContainer, instanceCachingFactory } from 'tsyringe';
import type { PluginContext } from './contracts/plugin.js';
import type { Registry } from './contracts/registry.js';
import type { Transport } from './contracts/transport.js';
import type { StreamWrapper } from './contracts/wrapper.js';

declare const tokenType: unique symbol;

/** A DI token that remembers the type of what it resolves to. */
export type Token<T> = symbol & { readonly [tokenType]?: T };

/** The registry in use (exactly one per sidecar). */
export const REGISTRY = Symbol('sidecar.Registry') as Token<Registry>;
/** The transports in use, in preference order (resolve them all). */
export const TRANSPORT = Symbol('sidecar.Transport') as Token<Transport>;
/** The stream wrappers in use, in order (resolve them all). */
export const WRAPPER = Symbol('sidecar.StreamWrapper') as Token<StreamWrapper>;
/** Facts about the sidecar being assembled, handed to every plugin. */
export const PLUGIN_CONTEXT = Symbol('sidecar.PluginContext') as Token<PluginContext>;

/** How a token gets its value. A factory runs once per container (its result is cached). */
export type Provider<T> = { useValue: T } | { useFactory: (container: DependencyContainer) => T };

/**
 * Registers a provider under a typed token.
 *
 * @example
 * ```ts
 * provide(container, REGISTRY, { useFactory: () => new MyRegistry() });
 * ```
 */
export function provide<T>(container: DependencyContainer, token: Token<T>, provider: Provider<T>): void {
  if ('useValue' in provider) container.register(token, { useValue: provider.useValue });
  else container.register(token, { useFactory: instanceCachingFactory((c) => provider.useFactory(c)) });
}

/** Resolves one value of a typed token (the last one registered). */
export function resolveToken<T>(container: DependencyContainer, token: Token<T>): T {
  return container.resolve<T>(token);
}

/** Resolves every value registered under a typed token, in registration order (none: `[]`). */
export function resolveAllTokens<T>(container: DependencyContainer, token: Token<T>): T[] {
  return container.isRegistered(token, true) ? container.resolveAll<T>(token) : [];
}
