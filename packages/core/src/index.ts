import 'reflect-metadata';

export {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_DIAL_TIMEOUT,
  DEFAULT_ENDPOINT_STAGGER,
  DEFAULT_HELLO_TIMEOUT,
  DEFAULT_REGISTRY,
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
export { type Builtin, loadPluginPackage, registryKindOf } from './container/builtins.js';
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
export {
  type ConnectPhaseMessage,
  DIAGNOSTICS,
  type DialFailureMessage,
  errorCodeOf,
  type HeartbeatMessage,
  type HelloRefusalMessage,
  observeClientCallbacks,
  type RegistryOperationMessage,
  type RpcCallMessage,
  RpcTimer,
  type StreamOpenMessage,
  startRpcTimer,
} from './diagnostics.js';
export * from './errors.js';
export type { Lifecycle, State } from './lifecycle/lifecycle.js';
export type { RecordPatch } from './lifecycle/own-record.js';
export {
  DEFAULT_STOP_SIGNALS,
  type StopOnSignalsOptions,
  type Stoppable,
  stopOnSignals,
} from './lifecycle/signals.js';
export {
  globToRegExp,
  isPattern,
  MAX_INSTANCE_ID_LENGTH,
  MAX_NAME_LENGTH,
  matchName,
  validateInstanceId,
  validateName,
  validateNamespace,
  validatePattern,
} from './names.js';
export type { Acceptor } from './pipeline/acceptor.js';
export { MAX_ENDPOINTS_PER_INSTANCE } from './pipeline/connector.js';
export { allowNetworks, checkDialPolicy, type DialPolicy } from './pipeline/dial-policy.js';
export type { Dialer } from './pipeline/dialer.js';
export { LazyStream } from './pipeline/lazy-stream.js';
export type { Streams } from './pipeline/streams.js';
export type { StreamContext, WrapperChain } from './pipeline/wrapper-chain.js';
export {
  decodeStored,
  type Endpoint,
  type InstanceRecord,
  type JsonValue,
  type PeerInfo,
  parseRecord,
  parseStoredRecord,
  peerInfoOf,
  StoredRecord,
} from './records.js';
export { BaseRegistry } from './registry/base-registry.js';
export { isChangeType, type RawRegistryChange, type RegistryChange } from './registry/change-tracker.js';
export {
  DEFAULT_HOST_ADDRESS_CHECK_INTERVAL,
  hostAddresses,
  normalizeAddress,
  watchHostAddresses,
} from './registry/host-addresses.js';
export { MemoryRegistry, type MemoryRegistryOptions, memoryRegistry } from './registry/memory-registry.js';
export {
  type BaseRegistryOptions,
  DEFAULT_CACHE_TTL,
  DEFAULT_MAX_CACHED_NAMES,
  DEFAULT_NAMESPACE,
  DEFAULT_RECONNECT_AFTER_TIMEOUTS,
  DEFAULT_SWEEP_INTERVAL,
  DEFAULT_WATCHED_CACHE_TTL,
} from './registry/registry-options.js';
export { StorageHooks } from './registry/storage-hooks.js';
export {
  type ChainOutput,
  createSidecar,
  type GroupExtensions,
  type SidecarExtensions,
  type SidecarOf,
} from './sidecar/create-sidecar.js';
export { type GroupForward, type GroupOf, PeerGroup, type PeerGroupEvents } from './sidecar/group.js';
export { type OpenRegistryOptions, openRegistry } from './sidecar/open-registry.js';
export { type ConnectOptions, Sidecar, type StopOptions, type ToResult } from './sidecar/sidecar.js';
export { duplexPair } from './transport/duplex-pair.js';
export { MemoryTransport, memoryTransport } from './transport/memory-transport.js';
export { abortErrorOf, delay, onAbort, raceSignal, throwIfAborted, withTimeout } from './util/abort.js';
export { addressBits, inNetwork, type Network, parseNetwork, undialableReason } from './util/cidr.js';
export { LruMap } from './util/lru-map.js';
export { sourceAddress, type Waiting, WaitingRoom } from './util/waiting-room.js';
export {
  encodeHello,
  HELLO_MAGIC,
  HELLO_VERSION,
  type HelloFrame,
  type HelloPeer,
  readHello,
} from './wire/hello.js';
