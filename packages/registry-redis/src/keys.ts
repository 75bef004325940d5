import { InvalidConfigError } from '@sidecar/core';

/** Namespaces made only of these characters appear in keys as they are; others are encoded. */
const PLAIN_NAMESPACE = /^[A-Za-z0-9._-]+$/;
/** Marks an encoded namespace; never part of a plain one, nor of base64url. */
const ENCODED_MARK = '~';
const BAD_PREFIX = /[{}\s]/;

/**
 * The keys of one namespace. Every key starts with the same hash tag `{prefix:namespace}`, so in
 * a Redis Cluster they all live in one slot and a Lua script may touch any of them.
 *
 * | key                 | type       | holds                                                     |
 * |---------------------|------------|-----------------------------------------------------------|
 * | `{P:NS}:name:HEX`   | hash       | instanceId -> record JSON, for one name (HEX: UTF-8 hex)  |
 * | `{P:NS}:ids`        | hash       | instanceId -> HEX of its name                             |
 * | `{P:NS}:names`      | set        | HEX of every name with at least one instance              |
 * | `{P:NS}:expiry`     | sorted set | instanceId scored by expiry time (ms since epoch)         |
 * | `{P:NS}:events`     | channel    | `{"type":"join"/"update"/"leave"/"timeout","record":{..}}` |
 *
 * Names appear in keys only hex-encoded, so `:`, `{`, `}` and unicode in a name can never change
 * the slot or collide with another key.
 */
export class KeyLayout {
  /** The hash tag, e.g. `{sidecar:default}`. */
  readonly tag: string;
  /** Hash: instanceId -> hex name. */
  readonly ids: string;
  /** Set: hex names in use. */
  readonly names: string;
  /** Sorted set: instanceId by expiry time. */
  readonly expiry: string;
  /** Pub/sub channel of changes. */
  readonly channel: string;
  /** Prefix of the per-name hashes; the hex-encoded name follows. */
  readonly namePrefix: string;

  constructor(prefix: string, namespace: string) {
    if (prefix.length === 0 || BAD_PREFIX.test(prefix)) {
      throw new InvalidConfigError(
        `invalid Redis key prefix ${JSON.stringify(prefix)}: use a non-empty string without '{', '}' or whitespace`,
      );
    }
    this.tag = `{${prefix}:${encodeNamespace(namespace)}}`;
    this.ids = `${this.tag}:ids`;
    this.names = `${this.tag}:names`;
    this.expiry = `${this.tag}:expiry`;
    this.channel = `${this.tag}:events`;
    this.namePrefix = `${this.tag}:name:`;
  }

  /** The hash of the records of one name. */
  name(name: string): string {
    return this.namePrefix + hexName(name);
  }
}

/** Most names whose hex form is remembered (a register or a lookup then encodes no name twice). */
const HEX_NAMES = 4096;
const hexNames = new Map<string, string>();

/** A name as it appears in keys: its UTF-8 bytes in lowercase hex (the Lua scripts do the same). */
export function hexName(name: string): string {
  let hex = hexNames.get(name);
  if (hex === undefined) {
    hex = Buffer.from(name, 'utf8').toString('hex');
    if (hexNames.size >= HEX_NAMES) hexNames.clear();
    hexNames.set(name, hex);
  }
  return hex;
}

/** The namespace as it appears in the hash tag: as is when plain, else `~` + base64url. */
export function encodeNamespace(namespace: string): string {
  return PLAIN_NAMESPACE.test(namespace)
    ? namespace
    : ENCODED_MARK + Buffer.from(namespace, 'utf8').toString('base64url');
}
