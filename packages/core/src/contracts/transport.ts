import type { Duplex } from 'node:stream';
import type { SidecarError } from '../errors.js';
import type { Endpoint } from '../records.js';
import type { RegistryReach } from './registry.js';

/** A peer identity proven by the transport itself (e.g. a verified TLS certificate). */
export interface TransportIdentity {
  name: string;
  namespace: string;
}

/** What a transport knows about an accepted connection. */
export interface IncomingConnection {
  /** The raw stream (a socket, or a TLS socket after its handshake). */
  stream: Duplex;
  /** The remote address as text, for logs (`127.0.0.1:53211`). */
  remoteAddress?: string;
  /** Set when the transport verified who the caller is; the hello must then claim the same. */
  identity?: TransportIdentity;
}

/** Options of `Transport.listen`. */
export interface ListenOptions {
  /** Cancels a listen that has not finished. */
  signal?: AbortSignal;
  /** The reach of the registry in use: picks the default listen/advertise address. */
  reach: RegistryReach;
  /** Receives per-connection failures (refused handshakes, socket errors) that are not fatal. */
  onError?: (error: SidecarError) => void;
  /** Called when the endpoint to advertise changes (the machine's address moved); core updates the record. */
  onEndpointChange?: (endpoint: Endpoint) => void;
  /**
   * The host name or address of a network registry, when known: a transport that advertises
   * several addresses puts first the one of its route to this host (the others reach it that way).
   */
  registryHost?: string;
}

/** Options of `Transport.dial`. */
export interface DialOptions {
  /** Cancels the dial; it then rejects with AbortError and leaves no socket open. */
  signal?: AbortSignal;
  /** The peer the caller wants: transports that authenticate peers must check it. */
  expect: TransportIdentity;
}

/** A listening transport. */
export interface Listener {
  /** The endpoint to advertise in the registry (it may change: see ListenOptions.onEndpointChange). */
  readonly endpoint: Endpoint;
  /**
   * Every endpoint to advertise, best first (e.g. one per address when listening on all
   * interfaces); `endpoint` is the first. Absent means `[endpoint]`.
   */
  readonly endpoints?: readonly Endpoint[];
  /** Stops accepting and closes every connection it accepted. Idempotent. */
  close(): Promise<void>;
}

/**
 * The transport contract: listen for connections and dial endpoints, handing out plain Duplex
 * streams. The hello, wrappers and everything else happen above it, in core.
 */
export interface Transport {
  /** Transport name as advertised in endpoints (`'tcp'`, `'tls'`). */
  readonly name: string;
  /** Starts listening; every accepted connection is passed to `onConnection`. */
  listen(onConnection: (connection: IncomingConnection) => void, options: ListenOptions): Promise<Listener>;
  /** Connects to an endpoint this transport advertised. */
  dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex>;
}
