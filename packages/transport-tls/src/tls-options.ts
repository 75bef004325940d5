import type { SecureVersion } from 'node:tls';
import { InvalidConfigError } from '@sidecar/core';
import type { SocketTransportOptions } from '@sidecar/transport-tcp';
import type { Credentials } from './credentials.js';

/** Options of the TLS transport: mutual TLS, each peer's certificate names it. */
export interface TlsOptions extends SocketTransportOptions, Partial<Credentials> {
  /** Lowest TLS version either side accepts. @default 'TLSv1.3' */
  minVersion?: SecureVersion;
  /** Time a connection has to finish its TLS handshake (both sides), in ms. @default 5000 */
  handshakeTimeout?: number;
  /** Reload ca/cert/key when their files change (files only, polled). @default false */
  watch?: boolean;
  /** Poll interval of `watch`, in ms. @default 1000 */
  watchInterval?: number;
  /** Buffer size of the streams this side dials, in bytes (bigger can help bulk transfers). @default 16384 (Node's default) */
  highWaterMark?: number;
  /** TLS sessions kept for resumption (per endpoint and expected peer); 0 turns resumption off. @default 256 */
  sessionCacheSize?: number;
  /**
   * Accepted connections that may be in their TLS handshake at once. When full, the one waiting
   * longest is closed to make room (see docs/security.md, connection limits).
   * @default 128
   */
  maxPendingHandshakes?: number;
  /** The same limit per source address (per /64 for IPv6): one address cannot evict another's. @default 32 */
  maxPendingHandshakesPerAddress?: number;
}

/** Default lowest TLS version. */
export const DEFAULT_MIN_VERSION: SecureVersion = 'TLSv1.3';
/** Default TLS handshake timeout, in ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 5000;
/** Default limit of connections in their TLS handshake, in total. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 128;
/** Default limit of connections in their TLS handshake, per source address. */
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS = 32;

/** The handshake timeout of `options`, in ms. */
export function handshakeTimeoutOf(options: TlsOptions): number {
  return options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
}

/** The pending-handshake limits of `options`; InvalidConfigError unless whole numbers >= 1. */
export function handshakeLimitsOf(options: TlsOptions): { max: number; maxPerAddress: number } {
  const max = options.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES;
  const maxPerAddress = options.maxPendingHandshakesPerAddress ?? DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS;
  for (const [key, value] of [
    ['maxPendingHandshakes', max],
    ['maxPendingHandshakesPerAddress', maxPerAddress],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidConfigError(
        `tls option ${key} must be a whole number of at least 1, got ${String(value)}`,
      );
    }
  }
  return { max, maxPerAddress };
}
