import type { Endpoint, TransportIdentity } from '@sidecar/core';

/** Default number of TLS sessions kept (one per endpoint and expected peer). */
export const DEFAULT_SESSION_CACHE_SIZE = 256;

/**
 * TLS 1.3 session tickets per endpoint *and expected peer*, oldest dropped first. Node does not
 * run `checkServerIdentity` on a resumed session, so a ticket is only ever offered to the peer it
 * was issued for after a fully verified handshake; a ticket from a failed dial is dropped.
 */
export class SessionCache {
  readonly #sessions = new Map<string, Buffer>();
  readonly #max: number;

  constructor(max = DEFAULT_SESSION_CACHE_SIZE) {
    this.#max = max;
  }

  static keyOf(endpoint: Endpoint, expect: TransportIdentity): string {
    return JSON.stringify([endpoint.host, endpoint.port, expect.namespace, expect.name]);
  }

  get(key: string): Buffer | undefined {
    return this.#sessions.get(key);
  }

  set(key: string, session: Buffer): void {
    if (this.#max <= 0) return;
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
    while (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#sessions.delete(key);
  }

  clear(): void {
    this.#sessions.clear();
  }

  get size(): number {
    return this.#sessions.size;
  }
}
