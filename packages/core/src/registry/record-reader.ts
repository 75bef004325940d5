import { InvalidRecordError, type SidecarError } from '../errors.js';
import { type InstanceRecord, parseStoredRecord, StoredRecord } from '../records.js';

/**
 * How many distinct stored texts a process remembers as decoded, checked records. Two
 * generations of this size are kept, so a scan of up to this many records (peers('*') over a
 * namespace of 10,000) hits on every row the second time.
 */
const DECODED_GENERATION = 16_384;

/**
 * Stored text -> the record it decodes to, already validated: the same bytes never pay for
 * JSON.parse and the name checks twice in one process (every lookup and list reads the same
 * rows again and again, and every registry of the process reads the same changes). Two
 * generations instead of an LRU: a hit costs one Map read, and a full generation is dropped
 * whole. Records handed out are shared: callers must not mutate them (the lookup cache already
 * shares them the same way).
 */
class DecodedRecords {
  #young = new Map<string, InstanceRecord>();
  #old = new Map<string, InstanceRecord>();

  get(text: string): InstanceRecord | undefined {
    const young = this.#young.get(text);
    if (young !== undefined) return young;
    const old = this.#old.get(text);
    if (old !== undefined) this.set(text, old);
    return old;
  }

  set(text: string, record: InstanceRecord): void {
    if (this.#young.size >= DECODED_GENERATION) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(text, record);
  }
}

/** Whole JSON texts (the expiry inside), e.g. Redis values and change messages. */
const decodedTexts = new DecodedRecords();
/** StoredRecord texts (the expiry in a column of its own), e.g. SQL rows. */
const decodedRows = new DecodedRecords();

/**
 * One raw stored value as a checked record (see parseStoredRecord), decoded at most once per
 * process for the same stored text. Throws InvalidRecordError for anything that is not a record.
 */
export function decodeRecord(row: unknown): InstanceRecord {
  if (typeof row === 'string') {
    const known = decodedTexts.get(row);
    if (known !== undefined) return known;
    const record = parseStoredRecord(row);
    decodedTexts.set(row, record);
    return record;
  }
  if (!(row instanceof StoredRecord) || typeof row.text !== 'string') return parseStoredRecord(row);
  const text = row.text;
  const known = decodedRows.get(text);
  if (known === undefined) {
    const record = parseStoredRecord(row);
    decodedRows.set(text, record);
    return record;
  }
  // The text is known, the expiry column is not necessarily the same: checked like parseRecord does.
  const expiresAt = Number(row.expiresAt);
  if (expiresAt === known.expiresAt) return known;
  if (!Number.isFinite(expiresAt) || expiresAt < 0) return parseStoredRecord(row); // throws
  const record = { ...known, expiresAt };
  decodedRows.set(text, record);
  return record;
}

/** One raw stored value as a record, or undefined (with a warning) when it is not a valid one. */
export function readRecord(row: unknown, warn: (error: SidecarError) => void): InstanceRecord | undefined {
  try {
    return decodeRecord(row);
  } catch (err) {
    warn(err instanceof InvalidRecordError ? err : new InvalidRecordError(String(err)));
    return undefined;
  }
}

/**
 * The valid records of `namespace` among raw rows that `keep` accepts (malformed ones are warned
 * about). Rows come from the store already filtered by ITS clock: no local-clock expiry check here.
 */
export function liveRecords(
  rows: unknown[],
  namespace: string,
  keep: (record: InstanceRecord) => boolean,
  warn: (error: SidecarError) => void,
): InstanceRecord[] {
  const live: InstanceRecord[] = [];
  for (const row of rows) {
    const record = readRecord(row, warn);
    if (record && record.namespace === namespace && keep(record)) live.push(record);
  }
  return live;
}
