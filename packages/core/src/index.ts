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
  MAX_NAME_LENGTH,
  matchName,
  validateName,
  validatePattern,
} from './names.js';
export {
  type Endpoint,
  type InstanceRecord,
  type JsonValue,
  type PeerInfo,
  parseRecord,
  peerInfoOf,
} from './records.js';
export {
  BaseRegistry,
  type BaseRegistryOptions,
  DEFAULT_CACHE_TTL,
  DEFAULT_NAMESPACE,
  DEFAULT_SWEEP_INTERVAL,
  DEFAULT_WATCHED_CACHE_TTL,
  type RegistryChange,
} from './registry/base-registry.js';
export { MemoryRegistry, type MemoryRegistryOptions, memoryRegistry } from './registry/memory-registry.js';
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
export {
  encodeHello,
  HELLO_MAGIC,
  HELLO_VERSION,
  type HelloFrame,
  type HelloPeer,
  readHello,
} from './wire/hello.js';
