import { InvalidRecordError, type SidecarError } from '../errors.js';
import { type InstanceRecord, parseStoredRecord } from '../records.js';

/** One raw stored value as a record, or undefined (with a warning) when it is not a valid one. */
export function readRecord(row: unknown, warn: (error: SidecarError) => void): InstanceRecord | undefined {
  try {
    return parseStoredRecord(row);
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
