/**
 * @sidecar/core: what an app and a plugin touch. Subpaths hold the rest: `@sidecar/core/plugin-kit`
 * (building blocks for registry and transport authors), `@sidecar/core/diagnostics` (diagnostics
 * channels), `@sidecar/core/wire` (the hello frame) and `@sidecar/core/testing` (compliance suites).
 */
import 'reflect-metadata';

// ---- dependency injection ----
/** The sidecar's container type (tsyringe's), for plugins that take one. */
export type { DependencyContainer } from 'tsyringe';
// ---- config ----
export {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_DIAL_TIMEOUT,
  DEFAULT_ENDPOINT_STAGGER,
  DEFAULT_HELLO_TIMEOUT,
  DEFAULT_MAX_INCOMING_CONNECTIONS,
  DEFAULT_MAX_PENDING_HELLOS,
  DEFAULT_MAX_PENDING_HELLOS_PER_ADDRESS,
  DEFAULT_REGISTRY,
  DEFAULT_START_TIMEOUT,
  DEFAULT_STRATEGY,
  DEFAULT_TRANSPORTS,
  DEFAULT_TTL,
  type NamedWrappers,
  type RegistrySpec,
  type SidecarConfig,
  type Strategy,
  type TransportSpec,
  type WrapperSpec,
} from './config/config.js';
export {
  type ResolvedConfig,
  type ResolvedRegistry,
  resolveConfig,
  resolveRegistry,
} from './config/resolve-config.js';
export type { RegistryName, TransportName, WrapperName } from './container/builtins.js';
export {
  ACCEPTOR,
  CLOCK,
  CONFIG,
  DIALER,
  EVENTS,
  LIFECYCLE,
  LOGGER,
  type Provider,
  provide,
  REGISTRY,
  resolve,
  SELF,
  STREAMS,
  type Token,
  TRANSPORTS,
  WRAPPERS,
} from './container/tokens.js';
// ---- contracts ----
export type {
  Plugin,
  RegistryPlugin,
  ServicePlugin,
  TransportPlugin,
  WrapperPlugin,
} from './contracts/plugin.js';
export type {
  LookupOptions,
  RecordInput,
  Registry,
  RegistryCallOptions,
  RegistryEvents,
  RegistryReach,
} from './contracts/registry.js';
export type { Clock, EventBus, Logger, SidecarEvents, StreamInfo } from './contracts/services.js';
export type {
  DialOptions,
  IncomingConnection,
  Listener,
  ListenOptions,
  Transport,
  TransportIdentity,
} from './contracts/transport.js';
export type { StreamWrapper, WrapperContext } from './contracts/wrapper.js';
export * from './errors.js';
// ---- the parts in the container (types, for apps and tests that replace one) ----
export type { Lifecycle, State } from './lifecycle/lifecycle.js';
export type { RecordPatch } from './lifecycle/own-record.js';
export {
  DEFAULT_STOP_SIGNALS,
  type StopOnSignalsOptions,
  type Stoppable,
  stopOnSignals,
} from './lifecycle/signals.js';
// ---- names and records ----
export {
  isPattern,
  MAX_INSTANCE_ID_LENGTH,
  MAX_NAME_LENGTH,
  matchName,
  validateInstanceId,
  validateName,
  validateNamespace,
  validatePattern,
} from './names.js';
export { allowNetworks, type DialPolicy } from './pipeline/dial-policy.js';
export type { Dialer } from './pipeline/dialer.js';
export type { Endpoint, InstanceRecord, JsonValue, PeerInfo } from './records.js';
// ---- the memory adapters (tests, one-process apps) ----
export { MemoryRegistry, type MemoryRegistryOptions, memoryRegistry } from './registry/memory-registry.js';
// ---- the sidecar ----
export {
  type ChainOutput,
  createSidecar,
  type GroupExtensions,
  type PluginExtensions,
  type SidecarExtensions,
  type SidecarOf,
} from './sidecar/create-sidecar.js';
export { type GroupForward, type GroupOf, PeerGroup, type PeerGroupEvents } from './sidecar/group.js';
export { type OpenRegistryOptions, openRegistry } from './sidecar/open-registry.js';
export { type ConnectOptions, Sidecar, type StopOptions, type ToResult } from './sidecar/sidecar.js';
export { MemoryTransport, memoryTransport } from './transport/memory-transport.js';
