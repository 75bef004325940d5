import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SidecarError } from '../errors.js';
import type { PeerInfo } from '../records.js';

/** What is known about a stream when it opens: which way, with whom, over what. */
export interface StreamInfo {
  /** `outgoing` for streams this side opened, `incoming` for accepted ones. */
  direction: 'incoming' | 'outgoing';
  /** The other side. */
  peer: PeerInfo;
  /** The transport it came through, when known (e.g. `'tcp'`). */
  transport: string | undefined;
}

/** Typed events of a Sidecar, published on its event bus (the `EVENTS` token). */
export interface SidecarEvents<S> {
  /** Another peer opened a stream to this one. */
  stream: [stream: S, peer: PeerInfo];
  /** A stream opened, either way, once connected and wrapped (for observers: metrics, logs). */
  open: [stream: S, info: StreamInfo];
  /** A peer of the namespace started (needs `events`, the default). */
  join: [peer: PeerInfo];
  /** A peer changed its record (endpoints, methods, metadata). */
  update: [peer: PeerInfo];
  /** A peer stopped gracefully. */
  leave: [peer: PeerInfo];
  /** A peer vanished without stopping; reported once across the network. */
  timeout: [peer: PeerInfo];
  /** Something non-fatal went wrong (garbage on a port, a malformed record, a retried heartbeat). */
  warning: [error: SidecarError];
  /** The sidecar is listening and registered. */
  started: [];
  /** The sidecar has deregistered and closed everything. */
  stopped: [];
}

/** The event bus of a sidecar: the sidecar itself, as an emitter of its events. */
export type EventBus = EventEmitter<SidecarEvents<Duplex>>;

/** Where the sidecar reads the time (deadlines, timeouts). Swap it in tests. */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
}

/** Where the sidecar's parts report what goes wrong without failing a call. */
export interface Logger {
  /** Reports a non-fatal problem (the default logger emits it as a `warning` event). */
  warn(error: unknown): void;
}
