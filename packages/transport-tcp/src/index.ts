export {
  type Addresses,
  type AddressOptions,
  currentAddresses,
  firstExternalIPv4,
  machineAddresses,
  parseHostList,
  pickAddresses,
  routeAddress,
  routeFirst,
} from './addresses.js';
export {
  DEFAULT_KEEP_ALIVE,
  once,
  SocketTransport,
  type SocketTransportOptions,
} from './socket-transport.js';
export { type TcpOptions, TcpTransport, tcp } from './tcp-transport.js';
