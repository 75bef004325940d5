import type { TransportIdentity } from '@sidecar/core';

/** The URI scheme that names a sidecar peer in a certificate's subjectAltName. */
export const PEER_URI_SCHEME = 'sidecar:';

/**
 * The URI SAN that names a peer: `sidecar://<namespace>/<name>`, both parts percent-encoded with
 * `encodeURIComponent` (so `billing` in namespace `default` is `sidecar://default/billing`, and
 * `a:b` is `sidecar://default/a%3Ab`).
 *
 * @example
 * ```ts
 * peerUri({ name: 'billing', namespace: 'default' }); // 'sidecar://default/billing'
 * ```
 */
export function peerUri(identity: TransportIdentity): string {
  return `${PEER_URI_SCHEME}//${encodeURIComponent(identity.namespace)}/${encodeURIComponent(identity.name)}`;
}

/** Parses a `sidecar://<namespace>/<name>` URI; undefined if it is not one. */
export function parsePeerUri(uri: string): TransportIdentity | undefined {
  const prefix = `${PEER_URI_SCHEME}//`;
  if (!uri.startsWith(prefix)) return undefined;
  const rest = uri.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1 || rest.indexOf('/', slash + 1) !== -1) return undefined;
  try {
    return {
      namespace: decodeURIComponent(rest.slice(0, slash)),
      name: decodeURIComponent(rest.slice(slash + 1)),
    };
  } catch {
    return undefined;
  }
}

/**
 * Splits Node's `subjectaltname` text (`URI:sidecar://default/a, DNS:x`; entries with special
 * characters are JSON-quoted since Node 17) into its URI entries.
 */
export function uriNamesOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const uris: string[] = [];
  // Entries are separated by ", "; a quoted entry is a JSON string and may contain ", ".
  const entry = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const match of subjectAltName.matchAll(entry)) {
    const [, type, raw = ''] = match;
    if (type !== 'URI') continue;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        continue;
      }
    }
    uris.push(value);
  }
  return uris;
}

/** Every peer a certificate names (its `sidecar://` URI SANs). */
export function peersNamedBy(subjectAltName: string | undefined): TransportIdentity[] {
  const peers: TransportIdentity[] = [];
  for (const uri of uriNamesOf(subjectAltName)) {
    const peer = parsePeerUri(uri);
    if (peer) peers.push(peer);
  }
  return peers;
}

/** `name` in namespace `namespace`, for messages. */
export function describePeer(identity: TransportIdentity): string {
  return `"${identity.name}" (namespace "${identity.namespace}")`;
}
