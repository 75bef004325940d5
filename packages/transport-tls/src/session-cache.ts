import type { Endpoint, TransportIdentity } from '@sidecar/core';
import { LruMap } from '@sidecar/core/plugin-kit';

/** Default number of TLS sessions kept (one per endpoint and expected peer). */
export const DEFAULT_SESSION_CACHE_SIZE = 256;

/**
 * TLS 1.3 session tickets per endpoint *and expected peer*, least recently used dropped first. Node does not
 * run `checkServerIdentity` on a resumed session, so a ticket is only ever offered to the peer it
 * was issued for after a fully verified handshake; a ticket from a failed dial is dropped.
 */
export class SessionCache extends LruMap<string, Buffer> {
  constructor(max = DEFAULT_SESSION_CACHE_SIZE) {
    super(max);
  }

  static keyOf(endpoint: Endpoint, expect: TransportIdentity): string {
    return JSON.stringify([endpoint.host, endpoint.port, expect.namespace, expect.name]);
  }
}
