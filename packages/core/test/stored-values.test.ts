import { type InstanceRecord, InvalidRecordError } from '@sidecar/core';
import { decodeStored, parseStoredRecord, StoredRecord } from '@sidecar/core/plugin-kit';
import { testRecord } from '@sidecar/core/testing';
import { describe, expect, it } from 'vitest';

function storedRecord(name: string): InstanceRecord {
  return { ...testRecord(name), expiresAt: Date.now() + 60_000 };
}

/** Core's one decoder of values read from a store: every registry hands it what it read. */
describe('decodeStored / parseStoredRecord', () => {
  it('leaves hostile values as they are, never throwing, so validation rejects them', () => {
    for (const hostile of ['{"name": this is not json', '', 'null', '[1,2]', '"text"', 42, null, undefined]) {
      expect(() => decodeStored(hostile)).not.toThrow();
      expect(() => parseStoredRecord(hostile)).toThrow(InvalidRecordError);
    }
    expect(decodeStored('{"name": this is not json')).toBe('{"name": this is not json');
    expect(decodeStored(Buffer.from('{}'))).toEqual(Buffer.from('{}')); // a BLOB is not text: passed on
  });

  it('does not let stored JSON name its own prototype or expiry in a StoredRecord', () => {
    const hostile = '{"__proto__": {"polluted": true}, "expiresAt": 1}';
    const decoded = decodeStored(new StoredRecord(hostile, '5000')) as Record<string, unknown>;
    expect(decoded.expiresAt).toBe(5000); // the column wins over the text
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a StoredRecord whose text or expiry is of the wrong type', () => {
    const record = storedRecord('billing');
    const { expiresAt: _expiresAt, ...text } = record;
    expect(() => parseStoredRecord(new StoredRecord(42, record.expiresAt))).toThrow(InvalidRecordError);
    expect(() => parseStoredRecord(new StoredRecord(JSON.stringify(text), 'soon'))).toThrow(
      InvalidRecordError,
    );
    expect(() => parseStoredRecord(new StoredRecord(new StoredRecord('{}', 1), 1))).toThrow(
      InvalidRecordError,
    );
  });

  it('decodes JSON text, a StoredRecord and an already decoded value to the same record', () => {
    const record = storedRecord('billing');
    const { expiresAt, ...rest } = record;
    expect(parseStoredRecord(JSON.stringify(record))).toEqual(record);
    expect(parseStoredRecord(new StoredRecord(JSON.stringify(rest), String(expiresAt)))).toEqual(record);
    expect(parseStoredRecord({ ...record })).toEqual(record);
  });
});

/** Stored texts are decoded once per process: a known text must not let a bad value through. */
describe('decodeRecord (decoded once per process)', async () => {
  const { decodeRecord } = await import('../src/registry/record-reader.js');

  it('checks the expiry column of a known text every time', () => {
    const { expiresAt, ...rest } = storedRecord('known-text');
    const text = JSON.stringify(rest);
    expect(decodeRecord(new StoredRecord(text, expiresAt)).expiresAt).toBe(expiresAt);
    expect(decodeRecord(new StoredRecord(text, expiresAt + 5)).expiresAt).toBe(expiresAt + 5);
    for (const bad of ['soon', -1, Number.NaN, 'Infinity']) {
      expect(() => decodeRecord(new StoredRecord(text, bad))).toThrow(InvalidRecordError);
    }
    expect(decodeRecord(new StoredRecord(text, expiresAt)).expiresAt).toBe(expiresAt);
  });

  it('never takes a row text (no expiry inside) for a whole JSON text, or the reverse', () => {
    const { expiresAt, ...rest } = storedRecord('two-kinds');
    const rowText = JSON.stringify(rest);
    expect(decodeRecord(new StoredRecord(rowText, expiresAt)).name).toBe('two-kinds');
    expect(() => decodeRecord(rowText)).toThrow(InvalidRecordError); // no expiresAt in it
    const whole = JSON.stringify({ ...rest, expiresAt });
    expect(decodeRecord(whole).expiresAt).toBe(expiresAt);
    expect(decodeRecord(whole)).toBe(decodeRecord(whole)); // decoded once, shared
  });

  it('rejects a hostile text the same way the second time', () => {
    const hostile = JSON.stringify({ ...storedRecord('x'), name: 'a/b' });
    expect(() => decodeRecord(hostile)).toThrow(InvalidRecordError);
    expect(() => decodeRecord(hostile)).toThrow(InvalidRecordError);
  });
});
