import type { Duplex } from 'node:stream';
import type { RegistryName, TransportName, WrapperName } from '../container/builtins.js';
import type { RegistryPlugin, ServicePlugin, TransportPlugin, WrapperPlugin } from '../contracts/plugin.js';
import type { StreamWrapper } from '../contracts/wrapper.js';
import type { DialPolicy } from '../pipeline/dial-policy.js';
import type { InstanceRecord, JsonValue } from '../records.js';

/** Default registry when neither `config.registry` nor `SIDECAR_REGISTRY` says otherwise. */
export const DEFAULT_REGISTRY = 'sql';
/** Default transports, in preference order. */
export const DEFAULT_TRANSPORTS: readonly TransportName[] = ['tcp'];
/** Default order in which the instances of a name are tried. */
export const DEFAULT_STRATEGY: Strategy = 'round-robin';
/**
 * Default delay before the next endpoint of an instance is dialled while the previous one is
 * still pending, in ms (RFC 8305 "Happy Eyeballs" recommends 250 ms).
 */
export const DEFAULT_ENDPOINT_STAGGER = 250;
/** Default lifetime of a registry record without a heartbeat, in ms. */
export const DEFAULT_TTL = 6000;
/** Default time `connect()` and `to()` wait for a name to appear and answer, in ms. */
export const DEFAULT_CONNECT_TIMEOUT = 5000;
/** Default time one dial of one instance may take, in ms. */
export const DEFAULT_DIAL_TIMEOUT = 2000;
/** Default time an accepted connection has to send its hello, in ms. */
export const DEFAULT_HELLO_TIMEOUT = 5000;
/** Default number of standby connections per instance talked to (see `SidecarConfig.standby`). */
export const DEFAULT_STANDBY = 0;
/** Default time `start()` keeps retrying while the network or the registry is not there yet, in ms. */
export const DEFAULT_START_TIMEOUT = 0;

// ---- connection limits (docs/security.md) ----
/** Default limit of accepted connections waiting for their hello, in total. */
export const DEFAULT_MAX_PENDING_HELLOS = 128;
/** Default limit of accepted connections waiting for their hello, per source address (IPv6: per /64). */
export const DEFAULT_MAX_PENDING_HELLOS_PER_ADDRESS = 32;
/** Default limit of incoming connections (waiting for a hello or carrying a stream), in total. */
export const DEFAULT_MAX_INCOMING_CONNECTIONS = 512;

/** A registry: a built-in name, a URL, or a plugin object. */
export type RegistrySpec =
  | RegistryName
  | `sqlite:${string}`
  | `postgres://${string}`
  | `postgresql://${string}`
  | `redis://${string}`
  | `rediss://${string}`
  | `memory:${string}`
  | RegistryPlugin;
/** A transport: a built-in name or a plugin object. */
export type TransportSpec = TransportName | TransportPlugin;
/**
 * Wrapper plugins known by name, for the types of `wrappers: ['pillion']`: a plugin package
 * declares itself here, so a name gives the same types as the plugin object.
 *
 * @example
 * ```ts
 * declare module '@sidecar/core' {
 *   interface NamedWrappers { pillion: PillionPlugin }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in plugin packages
export interface NamedWrappers {}

/** A wrapper: a function, a built-in name, or a plugin object. */
export type WrapperSpec = StreamWrapper<Duplex, Duplex> | WrapperPlugin<Duplex, object, object> | WrapperName;

/**
 * Chooses the order in which the live instances of a name are tried for a new stream.
 * `'round-robin'` rotates through them, `'random'` shuffles, `'first'` keeps registry order;
 * a function receives the instances and returns them in the order to try.
 */
export type Strategy =
  | 'round-robin'
  | 'random'
  | 'first'
  | ((instances: InstanceRecord[], name: string) => InstanceRecord[]);

/**
 * Everything `createSidecar` accepts. Only `name` is required.
 *
 * @example
 * ```ts
 * createSidecar({ name: 'billing', registry: 'redis://localhost:6379', transports: ['tls', 'tcp'] });
 * ```
 */
export interface SidecarConfig<
  W extends readonly WrapperSpec[] = readonly WrapperSpec[],
  P extends readonly ServicePlugin[] = readonly ServicePlugin[],
> {
  /** This peer's name: 1-255 characters, no `/`, whitespace, control characters, `*` or `?`. */
  name: string;
  /**
   * Registry namespace; peers only see peers of the same namespace. Env: `SIDECAR_NAMESPACE`.
   * @default 'default'
   */
  namespace?: string;
  /**
   * The registry: `'sql'` (embedded SQLite at a per-user path), `'redis'`, `'memory'`, a URL
   * (`sqlite:PATH`, `postgres://...`, `redis://...`, `rediss://...`, `memory:STORE`) or a plugin.
   * When omitted, the `SIDECAR_REGISTRY` env var (a URL) is used if set.
   * @default 'sql'
   */
  registry?: RegistrySpec;
  /** Options handed to a built-in registry's factory (e.g. pool settings). @default {} */
  registryOptions?: object;
  /** Transports in preference order: names or plugins. @default ['tcp'] */
  transports?: readonly TransportSpec[];
  /** Options handed to built-in transports' factories, by transport name. @default {} */
  transportOptions?: { [name: string]: object };
  /** Stream wrappers applied in order to every stream, on both sides. @default [] */
  wrappers?: W;
  /**
   * Service plugins: parts that observe or serve rather than wrap (see docs/plugins.md).
   * @default []
   */
  plugins?: P;
  /** Options handed to built-in wrappers' factories, by wrapper name. @default {} */
  wrapperOptions?: { [name: string]: object };
  /** Lifetime of this peer's registry record without a heartbeat, in ms. @default 6000 */
  ttl?: number;
  /** Interval between heartbeats, in ms. @default ttl / 3 */
  heartbeatInterval?: number;
  /**
   * Listen and register this peer. `false` makes a client-only sidecar: it opens streams to
   * others but accepts none and does not appear in the registry.
   * @default true
   */
  register?: boolean;
  /** Watch the registry and emit `join`, `leave`, `timeout`. @default true */
  events?: boolean;
  /** Time `connect()`/`to()` wait for a name to appear and a connection to succeed, in ms. @default 5000 */
  connectTimeout?: number;
  /** Time one dial of one instance may take before the next is tried, in ms. @default 2000 */
  dialTimeout?: number;
  /** Time an accepted connection has to send its hello before it is closed, in ms. @default 5000 */
  helloTimeout?: number;
  /**
   * Which endpoints read from the registry may be dialled: return `false` to skip one (see
   * `allowNetworks('10.0.0.0/8')`). Unspecified (`0.0.0.0`, `::`), broadcast and multicast
   * addresses are never dialled, whatever the policy says.
   * @default undefined (every other endpoint)
   */
  dialPolicy?: DialPolicy;
  /**
   * Delay before the next endpoint of an instance is dialled while the previous one is still
   * pending (a staggered race, as in Happy Eyeballs), in ms. A failure starts the next at once.
   * @default 250
   */
  endpointStagger?: number;
  /**
   * How long `start()` keeps retrying while the registry cannot be reached (network down, registry
   * not up yet), in ms. `start()` resolves once the peer is registered, or rejects with the last
   * error after this long (or when its signal aborts). `0` tries once; `Infinity` waits until it works.
   * @default 0
   */
  startTimeout?: number;
  // ---- connection limits: see docs/security.md ----
  /**
   * Accepted connections that may wait for their hello at once. When full, the one waiting
   * longest is closed to make room (a caller sends its hello at once, a flood does not).
   * @default 128
   */
  maxPendingHellos?: number;
  /**
   * The same limit per source address (per /64 for IPv6), so one address cannot crowd out the
   * others: its own oldest waiting connection is closed to make room.
   * @default 32
   */
  maxPendingHellosPerAddress?: number;
  /**
   * Incoming connections in all (waiting for a hello or carrying a stream), over every
   * transport. At the limit the stream silent longest (no byte either way) is closed to make
   * room; if every stream is moving bytes, the newcomer is refused (`busy`). Keep it below the
   * process's descriptor limit (`ulimit -n`, often 1024).
   * @default 512
   */
  maxIncomingConnections?: number;
  /**
   * Connections kept ready, per instance this peer has opened a stream to: each has done its
   * dial and handshake, so the next stream to that instance opens with no round trip (the callee
   * sees it as a stream only once used). Refilled after each use, closed after 30 s unused, for
   * at most 64 instances. A standby counts against the callee's `maxIncomingConnections` (as
   * the silent connection it is, the first closed to make room). `0` opens every stream on a
   * new connection. Callees that do not offer standby connections (older versions) are never
   * sent one. Off by default: a call that starts just as the callee dies gets a standby whose far
   * end is going away and fails, where a new dial would have failed over to another instance.
   * @default 0
   */
  standby?: number;
  /** Order in which instances of a name are tried. @default 'round-robin' */
  strategy?: Strategy;
  /** Free-form JSON published in this peer's registry record. @default {} */
  metadata?: { [key: string]: JsonValue };
  /** Environment to read `SIDECAR_*` variables from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}
