import { container as rootContainer } from 'tsyringe';
import type { RegistryPlugin } from '../contracts/plugin.js';
import type { Registry } from '../contracts/registry.js';
import { REGISTRY, resolveToken } from '../tokens.js';
import { loadRegistry } from './builtins.js';
import { DEFAULT_REGISTRY, type RegistrySpec } from './config.js';

/** Options of `openRegistry`. */
export interface OpenRegistryOptions {
  /** Namespace to read. Env: `SIDECAR_NAMESPACE`. @default 'default' */
  namespace?: string;
  /** Options for the built-in registry's factory. @default {} */
  registryOptions?: object;
  /** Environment to read `SIDECAR_REGISTRY` / `SIDECAR_NAMESPACE` from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Cancels the connection attempt. */
  signal?: AbortSignal;
}

/**
 * Opens (starts) a registry without becoming a peer: for monitoring tools that list and watch
 * peers without registering themselves. Stop it with `registry.stop()`.
 *
 * @example
 * ```ts
 * const registry = await openRegistry('redis://localhost:6379');
 * console.log(await registry.list('*'));
 * await registry.stop();
 * ```
 */
export async function openRegistry(
  spec?: RegistrySpec,
  options: OpenRegistryOptions = {},
): Promise<Registry> {
  const env = options.env ?? process.env;
  const chosen = spec ?? env.SIDECAR_REGISTRY ?? DEFAULT_REGISTRY;
  const plugin: RegistryPlugin =
    typeof chosen === 'string' ? await loadRegistry(chosen, options.registryOptions) : chosen;
  const container = rootContainer.createChildContainer();
  plugin.register(container, {
    peerName: 'registry-client',
    namespace: options.namespace ?? env.SIDECAR_NAMESPACE ?? 'default',
    env,
  });
  const registry = resolveToken(container, REGISTRY);
  await registry.start(options.signal ? { signal: options.signal } : {});
  return registry;
}
