import { InvalidRecordError } from './errors.js';
import { validateInstanceId, validateName, validateNamespace } from './names.js';

/** One address a peer listens on, for one transport. */
export interface Endpoint {
  /** Transport name, e.g. `'tcp'` or `'tls'`. */
  transport: string;
  host: string;
  port: number;
}

/** A JSON value, as stored in free-form metadata. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What a registry stores for one running instance of a named peer.
 * Many instances may share one name; `instanceId` tells them apart.
 */
export interface InstanceRecord {
  /** The peer name others use to reach it. */
  name: string;
  /** Random id of this running instance (unique per process start). */
  instanceId: string;
  /** Registry namespace; peers only see peers of their own namespace. */
  namespace: string;
  /** One endpoint per transport the instance listens on, in its own preference order. */
  endpoints: Endpoint[];
  /** Methods the instance provides (published by RPC wrappers, for discovery). */
  methods: string[];
  /** Free-form JSON metadata supplied by the user. */
  metadata: { [key: string]: JsonValue };
  /** When the instance first registered (ms since epoch). */
  registeredAt: number;
  /** When the record expires unless renewed (ms since epoch). Set by the registry. */
  expiresAt: number;
}

/** The identity of a peer, as seen in events and on incoming streams. */
export interface PeerInfo {
  name: string;
  instanceId: string;
  namespace: string;
  /** Present when known from the registry (events, outgoing streams). */
  record?: InstanceRecord;
}

/** Picks the identity fields of a record. */
export function peerInfoOf(record: InstanceRecord): PeerInfo {
  return { name: record.name, instanceId: record.instanceId, namespace: record.namespace, record };
}

const MAX_PORT = 65535;

function fail(field: string, why: string): never {
  throw new InvalidRecordError(`invalid registry record: ${field} ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseEndpoint(v: unknown, i: number): Endpoint {
  if (!isObject(v)) fail(`endpoints[${i}]`, 'is not an object');
  const { transport, host, port } = v;
  if (typeof transport !== 'string' || !/^[a-z][a-z0-9+.-]{0,31}$/.test(transport)) {
    fail(`endpoints[${i}].transport`, 'is not a transport name');
  }
  if (typeof host !== 'string' || host.length === 0 || host.length > 255) {
    fail(`endpoints[${i}].host`, 'is not a host');
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    fail(`endpoints[${i}].port`, `is not a port number (1-${MAX_PORT})`);
  }
  return { transport, host, port };
}

function parseTime(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(field, 'is not a timestamp');
  return v;
}

/**
 * Checks that an untrusted value (a row, a JSON document) is a complete instance record and
 * returns a clean copy. Throws InvalidRecordError naming the first bad field. Registries call
 * it on everything they read, so a malformed row is skipped instead of crashing a lookup.
 */
export function parseRecord(value: unknown): InstanceRecord {
  if (!isObject(value)) fail('record', 'is not an object');
  const { name, instanceId, namespace, endpoints, methods, metadata, registeredAt, expiresAt } = value;
  try {
    validateName(name);
  } catch (err) {
    fail('name', `is invalid (${(err as Error).message})`);
  }
  for (const [field, value, validate] of [
    ['instanceId', instanceId, validateInstanceId],
    ['namespace', namespace, validateNamespace],
  ] as const) {
    try {
      validate(value);
    } catch (err) {
      fail(field, `is invalid (${(err as Error).message})`);
    }
  }
  if (!Array.isArray(endpoints)) fail('endpoints', 'is not an array');
  if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string')) {
    fail('methods', 'is not an array of strings');
  }
  if (metadata !== undefined && !isObject(metadata)) fail('metadata', 'is not an object');
  return {
    name: name as string,
    instanceId: instanceId as string,
    namespace: namespace as string,
    endpoints: endpoints.map(parseEndpoint),
    methods: [...methods],
    metadata: (metadata ?? {}) as InstanceRecord['metadata'],
    registeredAt: parseTime(registeredAt, 'registeredAt'),
    expiresAt: parseTime(expiresAt, 'expiresAt'),
  };
}

/**
 * A record as a store keeps it when the expiry lives in a field of its own (a SQL column): the
 * record's JSON text (or whatever the store holds there) and that expiry. Storage hooks return
 * it among their raw values; BaseRegistry decodes it with the rest.
 *
 * @example
 * ```ts
 * protected async fetchByName(name: string) {
 *   return rows.map((r) => new StoredRecord(r.record, r.expires_at));
 * }
 * ```
 */
export class StoredRecord {
  constructor(
    /** The stored JSON text (anything else is passed on as it is, and rejected by validation). */
    readonly text: unknown,
    /** The stored expiry (ms since epoch, by the store's clock), as a number or a numeric string. */
    readonly expiresAt: unknown,
  ) {}
}

/**
 * Decodes one raw value read from a store, the one place every registry does it: JSON text is
 * parsed, a StoredRecord gets its expiry from its own field, anything else (an already decoded
 * value) is returned as it is. Text that does not parse is returned as the string it is, so that
 * validation rejects it (a warning) instead of the read throwing.
 *
 * @example
 * ```ts
 * decodeStored('{"name":"billing"}'); // { name: 'billing' }
 * decodeStored('not json');          // 'not json'
 * ```
 */
export function decodeStored(value: unknown): unknown {
  if (value instanceof StoredRecord) {
    const decoded = decodeText(value.text);
    if (!isObject(decoded)) return decoded;
    // Parsed from text just now: a fresh object to complete in place (no copy per row read).
    if (typeof value.text === 'string') decoded.expiresAt = Number(value.expiresAt);
    else return { ...decoded, expiresAt: Number(value.expiresAt) };
    return decoded;
  }
  return decodeText(value);
}

function decodeText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * A stored value (see decodeStored) checked as an instance record (see parseRecord).
 * Throws InvalidRecordError for anything that is not one.
 */
export function parseStoredRecord(value: unknown): InstanceRecord {
  return parseRecord(decodeStored(value));
}

/** How the last member of a serialized record starts (see recordJsonHead). */
const EXPIRES_AT_MEMBER = ',"expiresAt":';

/**
 * A record's JSON up to (not including) its `expiresAt` member and the closing brace: what a
 * store keeps when the expiry lives apart (a SQL column: add `}`) or is appended by the store's
 * clock (a Redis script: add `,"expiresAt":N}`). A record made by parseRecord has `expiresAt`
 * last, so this is one JSON.stringify and a slice, no copy of the record.
 *
 * @example
 * ```ts
 * const head = recordJsonHead(parseRecord(value));
 * const stored = `${head}}`; // the record without its expiry
 * ```
 */
export function recordJsonHead(record: InstanceRecord): string {
  const text = JSON.stringify(record);
  const at = text.lastIndexOf(EXPIRES_AT_MEMBER);
  if (at !== -1 && text.slice(at + EXPIRES_AT_MEMBER.length, -1) === JSON.stringify(record.expiresAt)) {
    return text.slice(0, at);
  }
  // Members in another order (not made by parseRecord): without expiresAt, then cut the brace.
  const { expiresAt: _expiresAt, ...rest } = record;
  return JSON.stringify(rest).slice(0, -1);
}
