import 'reflect-metadata'; // tsyringe needs it loaded first
import { container as rootContainer } from 'tsyringe';
import type { RegistrySpec } from '../config/config.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { resolveRegistry } from '../config/resolve-config.js';
import { loadRegistry } from '../container/builtins.js';
import { CONFIG, provide } from '../container/tokens.js';
import type { Registry } from '../contracts/registry.js';

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
 * peers without registering themselves. The registry and namespace are resolved as for a
 * sidecar (argument, else `SIDECAR_REGISTRY`, else `'sql'`). Stop it with `registry.stop()`.
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
  const resolved = resolveRegistry({ ...options, registry: spec });
  const plugin =
    typeof resolved.registry === 'string'
      ? await loadRegistry(resolved.registry, resolved.registryOptions)
      : resolved.registry;
  const container = rootContainer.createChildContainer();
  // A registry plugin reads the namespace and environment from the config, as in a sidecar.
  provide(container, CONFIG, { useValue: resolved as unknown as ResolvedConfig });
  plugin.register?.(container);
  const registry = plugin.create(container);
  await registry.start(options.signal ? { signal: options.signal } : {});
  return registry;
}
