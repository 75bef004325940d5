import type { RegistryPlugin, TransportPlugin, WrapperPlugin } from '../contracts/plugin.js';
import { InvalidConfigError, PluginNotInstalledError } from '../errors.js';
import { memoryRegistry } from '../registry/memory-registry.js';
import { memoryTransport } from '../transport/memory-transport.js';

/** A first-party plugin that core knows by name and loads on first use. */
export interface Builtin {
  /** The npm package that holds it. */
  packageName: string;
  /** The factory the package exports. */
  factory: string;
}

const REGISTRIES = {
  sql: { packageName: '@sidecar/registry-sql', factory: 'sqlRegistry' },
  redis: { packageName: '@sidecar/registry-redis', factory: 'redisRegistry' },
} as const satisfies Record<string, Builtin>;

const TRANSPORTS: Record<string, Builtin> = {
  tcp: { packageName: '@sidecar/transport-tcp', factory: 'tcp' },
  tls: { packageName: '@sidecar/transport-tls', factory: 'tls' },
};

const WRAPPERS: Record<string, Builtin> = {
  pillion: { packageName: '@sidecar/wrapper-pillion', factory: 'pillion' },
};

/** Built-in registry names accepted by `config.registry`. */
export type RegistryName = 'sql' | 'redis' | 'memory';
/** Built-in transport names accepted by `config.transports`. */
export type TransportName = 'tcp' | 'tls' | 'memory';
/** Built-in wrapper names accepted by `config.wrappers`. */
export type WrapperName = 'pillion';

/** Imports a plugin package and calls its factory; a missing package is a PluginNotInstalledError. */
export async function loadPluginPackage<T>(builtin: Builtin, options: object): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(builtin.packageName)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const missing =
      code === 'ERR_MODULE_NOT_FOUND' ||
      code === 'MODULE_NOT_FOUND' ||
      /Cannot find (package|module)|Failed to (load|resolve)/.test(String(err));
    if (missing && String(err).includes(builtin.packageName))
      throw new PluginNotInstalledError(builtin.packageName, err);
    throw err;
  }
  const factory = mod[builtin.factory];
  if (typeof factory !== 'function') {
    throw new InvalidConfigError(`${builtin.packageName} does not export a ${builtin.factory}() factory`);
  }
  return (factory as (options: object) => T)(options);
}

/**
 * Turns a registry name or URL into a plugin, loading its package if needed.
 * `'sql'`, `'sqlite:PATH'`, `'postgres://...'` -> @sidecar/registry-sql; `'redis'`, `'redis://...'`,
 * `'rediss://...'` -> @sidecar/registry-redis; `'memory'`, `'memory:STORE'` -> core's memory registry.
 */
export async function loadRegistry(spec: string, options: object = {}): Promise<RegistryPlugin> {
  const kind = registryKindOf(spec);
  const isUrl = spec.includes(':');
  if (kind === 'memory') {
    const store = spec.startsWith('memory:') ? spec.slice('memory:'.length) || undefined : undefined;
    return memoryRegistry({ ...(store ? { store } : {}), ...options });
  }
  return loadPluginPackage<RegistryPlugin>(REGISTRIES[kind], isUrl ? { ...options, url: spec } : options);
}

/** Which built-in registry a name or URL selects; throws InvalidConfigError for anything else. */
export function registryKindOf(spec: string): RegistryName {
  if (spec === 'sql' || spec.startsWith('sqlite:') || /^postgres(ql)?:\/\//.test(spec)) return 'sql';
  if (spec === 'redis' || /^rediss?:\/\//.test(spec)) return 'redis';
  if (spec === 'memory' || spec.startsWith('memory:')) return 'memory';
  throw new InvalidConfigError(
    `unknown registry ${JSON.stringify(spec)}: use 'sql', 'redis', 'memory', a sqlite:PATH, postgres://, redis://, rediss:// or memory: URL, or a registry plugin`,
  );
}

/** Turns a transport name into a plugin, loading its package if needed. */
export async function loadTransport(name: string, options: object = {}): Promise<TransportPlugin> {
  if (name === 'memory') return memoryTransport();
  const builtin = TRANSPORTS[name];
  if (!builtin) {
    throw new InvalidConfigError(
      `unknown transport ${JSON.stringify(name)}: use 'tcp', 'tls', 'memory' or a transport plugin`,
    );
  }
  return loadPluginPackage<TransportPlugin>(builtin, options);
}

/** Turns a wrapper name into a plugin, loading its package if needed. */
export async function loadWrapper(name: string, options: object = {}): Promise<WrapperPlugin> {
  const builtin = WRAPPERS[name];
  if (!builtin)
    throw new InvalidConfigError(
      `unknown wrapper ${JSON.stringify(name)}: use 'pillion' or a wrapper plugin`,
    );
  return loadPluginPackage<WrapperPlugin>(builtin, options);
}

/** Checks a transport name without loading it (for createSidecar's synchronous checks). */
export function isKnownTransport(name: string): boolean {
  return name === 'memory' || name in TRANSPORTS;
}

/** Checks a wrapper name without loading it. */
export function isKnownWrapper(name: string): boolean {
  return name in WRAPPERS;
}
