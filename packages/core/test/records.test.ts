import { InvalidRecordError } from '@sidecar/core';
import { parseRecord, recordJsonHead } from '@sidecar/core/plugin-kit';
import { describe, expect, it } from 'vitest';

const good = {
  name: 'billing',
  instanceId: 'abc_DEF-123',
  namespace: 'default',
  endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 4000 }],
  methods: ['charge'],
  metadata: { v: 1 },
  registeredAt: 1,
  expiresAt: 2,
};

describe('parseRecord', () => {
  it('returns a clean copy of a valid record', () => {
    const parsed = parseRecord({ ...good, extra: 'ignored' });
    expect(parsed).toEqual(good);
    expect(parsed.endpoints).not.toBe(good.endpoints);
  });

  it('names the first bad field of a malformed record', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'record'],
      ['{"name":', 'record'],
      [{ ...good, name: 'a b' }, 'name'],
      [{ ...good, instanceId: 'has space' }, 'instanceId'],
      [{ ...good, endpoints: 'x' }, 'endpoints'],
      [{ ...good, endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: -1 }] }, 'port'],
      [{ ...good, endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 70000 }] }, 'port'],
      [{ ...good, endpoints: [{ transport: 'TCP!', host: '127.0.0.1', port: 1 }] }, 'transport'],
      [{ ...good, endpoints: [{ transport: 'tcp', host: '', port: 1 }] }, 'host'],
      [{ ...good, methods: [1] }, 'methods'],
      [{ ...good, metadata: [] }, 'metadata'],
      [{ ...good, expiresAt: 'soon' }, 'expiresAt'],
    ];
    for (const [value, field] of cases) {
      expect(() => parseRecord(value), JSON.stringify(value)).toThrow(InvalidRecordError);
      expect(() => parseRecord(value)).toThrow(field);
    }
  });
});

describe('recordJsonHead', () => {
  it("is the record's JSON without expiresAt and the closing brace, whatever the member order", () => {
    const record = parseRecord({ ...good, metadata: { expiresAt: 7, nested: { expiresAt: 8 } } });
    const withoutExpiry = (r: object) => {
      const { expiresAt: _e, ...rest } = r as { expiresAt: number };
      return rest;
    };
    expect(JSON.parse(`${recordJsonHead(record)}}`)).toEqual(withoutExpiry(record));
    // Not made by parseRecord: expiresAt first, a nested expiresAt last.
    const reordered = { expiresAt: record.expiresAt, ...withoutExpiry(record) } as typeof record;
    expect(JSON.parse(`${recordJsonHead(reordered)}}`)).toEqual(withoutExpiry(record));
    expect(JSON.parse(`${recordJsonHead(record)},"expiresAt":5}`).expiresAt).toBe(5);
  });
});
