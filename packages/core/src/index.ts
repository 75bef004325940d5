import 'reflect-metadata';

export type {
  Plugin,
  PluginContext,
  RegistryPlugin,
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
export type { RegistryName, TransportName, WrapperName } from './sidecar/builtins.js';
export { type Builtin, loadPluginPackage, registryKindOf } from './sidecar/builtins.js';
export {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_DIAL_TIMEOUT,
  DEFAULT_HELLO_TIMEOUT,
  DEFAULT_REGISTRY,
  DEFAULT_TRANSPORTS,
  DEFAULT_TTL,
  type RegistrySpec,
  type SidecarConfig,
  type Strategy,
  type TransportSpec,
  type WrapperSpec,
} from './sidecar/config.js';
export { MAX_ENDPOINTS_PER_INSTANCE } from './sidecar/connector.js';
export {
  type ChainOutput,
  checkSidecarConfig,
  createSidecar,
  type GroupExtensions,
  type SidecarExtensions,
  type SidecarOf,
} from './sidecar/create-sidecar.js';
export { allowNetworks, checkDialPolicy, type DialPolicy } from './sidecar/dial-policy.js';
export { DEFAULT_ENDPOINT_STAGGER } from './sidecar/dial-race.js';
export { type GroupForward, type GroupOf, PeerGroup, type PeerGroupEvents } from './sidecar/group.js';
export { LazyStream } from './sidecar/lazy-stream.js';
export { type OpenRegistryOptions, openRegistry } from './sidecar/open-registry.js';
export {
  type ConnectOptions,
  Sidecar,
  type SidecarEvents,
  type StopOptions,
  type ToResult,
} from './sidecar/sidecar.js';
export {
  DEFAULT_STOP_SIGNALS,
  type StopOnSignalsOptions,
  type Stoppable,
  stopOnSignals,
} from './sidecar/signals.js';
export {
  PLUGIN_CONTEXT,
  type Provider,
  provide,
  REGISTRY,
  resolveAllTokens,
  resolveToken,
  type Token,
  TRANSPORT,
  WRAPPER,
} from './tokens.js';
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
