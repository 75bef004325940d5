import { isKnownTransport, isKnownWrapper, registryKindOf } from '../container/builtins.js';
import type { ServicePlugin } from '../contracts/plugin.js';
import { InvalidConfigError } from '../errors.js';
import { validateName, validateNamespace } from '../names.js';
import type { DialPolicy } from '../pipeline/dial-policy.js';
import { DEFAULT_NAMESPACE } from '../registry/registry-options.js';
import {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_DIAL_TIMEOUT,
  DEFAULT_ENDPOINT_STAGGER,
  DEFAULT_HELLO_TIMEOUT,
  DEFAULT_MAX_INCOMING_CONNECTIONS,
  DEFAULT_MAX_PENDING_HELLOS,
  DEFAULT_MAX_PENDING_HELLOS_PER_ADDRESS,
  DEFAULT_REGISTRY,
  DEFAULT_STANDBY,
  DEFAULT_START_TIMEOUT,
  DEFAULT_STRATEGY,
  DEFAULT_TRANSPORTS,
  DEFAULT_TTL,
  type RegistrySpec,
  type SidecarConfig,
  type WrapperSpec,
} from './config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Which registry and namespace, after the environment and the defaults: what `openRegistry` and the CLI need. */
export interface ResolvedRegistry {
  readonly registry: RegistrySpec;
  readonly registryOptions: object;
  readonly namespace: string;
  readonly env: Env;
}

/**
 * A config with every default applied and every value checked, frozen: what the sidecar's parts
 * read (the `CONFIG` token). Only `dialPolicy` stays optional (no policy: every endpoint but
 * the forbidden ones).
 */
export type ResolvedConfig = Readonly<
  Required<Omit<SidecarConfig, 'dialPolicy' | 'wrappers' | keyof ResolvedRegistry>> &
    ResolvedRegistry & {
      wrappers: readonly WrapperSpec[];
      plugins: readonly ServicePlugin[];
      dialPolicy: DialPolicy | undefined;
    }
>;

/**
 * Resolves the registry part of a config: `registry`, else `SIDECAR_REGISTRY`, else `'sql'`;
 * `namespace`, else `SIDECAR_NAMESPACE`, else `'default'`. Throws InvalidConfigError for an
 * unknown registry or an invalid namespace.
 *
 * @example
 * ```ts
 * resolveRegistry({ env: { SIDECAR_REGISTRY: 'redis://127.0.0.1:6379' } }).registry; // 'redis://127.0.0.1:6379'
 * ```
 */
export function resolveRegistry(config: {
  registry?: RegistrySpec | undefined;
  registryOptions?: object | undefined;
  namespace?: string | undefined;
  env?: Env | undefined;
}): ResolvedRegistry {
  const env = config.env ?? process.env;
  const registry = config.registry ?? (env.SIDECAR_REGISTRY as RegistrySpec | undefined) ?? DEFAULT_REGISTRY;
  if (typeof registry === 'string') registryKindOf(registry);
  else if (registry?.kind !== 'registry') {
    throw new InvalidConfigError('config.registry must be a registry name, a URL, or a registry plugin');
  }
  const namespace = config.namespace ?? env.SIDECAR_NAMESPACE ?? DEFAULT_NAMESPACE;
  try {
    validateNamespace(namespace);
  } catch (err) {
    throw new InvalidConfigError((err as Error).message, { cause: err });
  }
  return { registry, registryOptions: config.registryOptions ?? {}, namespace, env };
}

/**
 * Turns the user's config and the environment into the one config every part of the sidecar
 * reads: defaulted, validated, frozen. Throws InvalidConfigError (or InvalidNameError for the
 * name) at once, before anything starts.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ name: 'billing', ttl: 3000 });
 * config.heartbeatInterval; // 1000 (ttl / 3)
 * ```
 */
export function resolveConfig(config: SidecarConfig): ResolvedConfig {
  if (!config || typeof config !== 'object')
    throw new InvalidConfigError('createSidecar needs a config object: { name }');
  const name = validateName(config.name);
  const ttl = milliseconds(config, 'ttl', DEFAULT_TTL, 'positive');
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
  for (const p of config.plugins ?? []) {
    if (p?.kind !== 'service' || typeof p.install !== 'function')
      throw new InvalidConfigError(
        `config.plugins takes service plugins ({ kind: 'service', install }), got ${JSON.stringify(p)}`,
      );
  }
  if (config.transports !== undefined && config.transports.length === 0)
    throw new InvalidConfigError('no transport configured: config.transports is empty');
  if (config.dialPolicy !== undefined && typeof config.dialPolicy !== 'function')
    throw new InvalidConfigError('config.dialPolicy must be a function (endpoint) => boolean');
  const strategy = config.strategy ?? DEFAULT_STRATEGY;
  if (typeof strategy !== 'function' && !['round-robin', 'random', 'first'].includes(strategy))
    throw new InvalidConfigError(`config.strategy must be 'round-robin', 'random', 'first' or a function`);
  return Object.freeze({
    ...resolveRegistry(config),
    name,
    transports: Object.freeze([...(config.transports ?? DEFAULT_TRANSPORTS)]),
    transportOptions: config.transportOptions ?? {},
    wrappers: Object.freeze([...(config.wrappers ?? [])]),
    wrapperOptions: config.wrapperOptions ?? {},
    plugins: Object.freeze([...(config.plugins ?? [])]),
    ttl,
    heartbeatInterval: milliseconds(config, 'heartbeatInterval', ttl / 3, 'positive'),
    register: config.register ?? true,
    events: config.events ?? true,
    connectTimeout: milliseconds(config, 'connectTimeout', DEFAULT_CONNECT_TIMEOUT, 'positive'),
    dialTimeout: milliseconds(config, 'dialTimeout', DEFAULT_DIAL_TIMEOUT, 'positive'),
    helloTimeout: milliseconds(config, 'helloTimeout', DEFAULT_HELLO_TIMEOUT, 'positive'),
    dialPolicy: config.dialPolicy,
    endpointStagger: milliseconds(config, 'endpointStagger', DEFAULT_ENDPOINT_STAGGER, 'zero'),
    startTimeout: milliseconds(config, 'startTimeout', DEFAULT_START_TIMEOUT, 'zero'),
    maxPendingHellos: count(config, 'maxPendingHellos', DEFAULT_MAX_PENDING_HELLOS),
    maxPendingHellosPerAddress: count(
      config,
      'maxPendingHellosPerAddress',
      DEFAULT_MAX_PENDING_HELLOS_PER_ADDRESS,
    ),
    maxIncomingConnections: count(config, 'maxIncomingConnections', DEFAULT_MAX_INCOMING_CONNECTIONS),
    standby: count(config, 'standby', DEFAULT_STANDBY, 0),
    strategy,
    metadata: config.metadata ?? {},
  });
}

type NumberKey = {
  [K in keyof SidecarConfig]-?: NonNullable<SidecarConfig[K]> extends number ? K : never;
}[keyof SidecarConfig];

function milliseconds(
  config: SidecarConfig,
  key: NumberKey,
  fallback: number,
  least: 'positive' | 'zero',
): number {
  const value = config[key] ?? fallback;
  const ok = typeof value === 'number' && !Number.isNaN(value) && (least === 'zero' ? value >= 0 : value > 0);
  if (!ok || (least === 'positive' && !Number.isFinite(value))) {
    throw new InvalidConfigError(
      `config.${key} must be a ${least === 'zero' ? 'number of milliseconds >= 0' : 'positive number of milliseconds'}, got ${String(config[key])}`,
    );
  }
  return value;
}

function count(config: SidecarConfig, key: NumberKey, fallback: number, least = 1): number {
  const value = config[key] ?? fallback;
  if (!Number.isInteger(value) || value < least) {
    throw new InvalidConfigError(
      `config.${key} must be a whole number of at least ${least}, got ${String(config[key])}`,
    );
  }
  return value;
}
