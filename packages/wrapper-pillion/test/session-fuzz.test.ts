import { ConnectionClosedError, ProtocolError } from '@sidecar/core';
import { type PillionMessage, PillionSession, toJson } from '@sidecar/wrapper-pillion';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** What is wrong with a message this side sent, per the PILLION-PROTOCOL.md table (undefined: valid). */
function invalid(m: PillionMessage): string | undefined {
  const r = m as unknown as Record<string, unknown>;
  toJson(m);
  switch (r.type) {
    case 'methodAdded':
    case 'methodRemoved':
      return typeof r.name === 'string' && r.name !== '' ? undefined : 'name';
    case 'error':
      return (typeof r.inResponseTo === 'string' || typeof r.inResponseTo === 'number') &&
        typeof r.error === 'string'
        ? undefined
        : 'error fields';
    case 'call': {
      if (typeof r.id !== 'string' || !/^\d{13}_\d{8}$/.test(r.id)) return 'id';
      if (typeof r.method !== 'string' || r.method === '') return 'method';
      if (!Array.isArray(r.params) || !Array.isArray(r.functions)) return 'arrays';
      const params = r.params as unknown[];
      for (const k of r.functions as unknown[]) {
        const ref = params[k as number] as { name?: unknown } | undefined;
        if (typeof ref?.name !== 'string' || !/^x_\d{13}_\d{8}$/.test(ref.name)) return 'callback ref';
      }
      return undefined;
    }
    default:
      return 'type';
  }
}

const known = ['echo', 'nested', 'throws', 'async', 'void'];
const name = fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 6 }), fc.constant('x_1_00000000'));
const param = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ name: name }));
const callMessage = fc.record(
  {
    type: fc.constant('call'),
    id: fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null), fc.double()),
    method: fc.oneof(name, fc.jsonValue({ maxDepth: 1 })),
    params: fc.oneof(fc.array(param, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
    functions: fc.oneof(
      fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 1 }),
    ),
  },
  { requiredKeys: ['type'] },
);
const otherMessage = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom('methodAdded', 'methodRemoved', 'addMethod', 'removeMethod', 'error', 'result'),
      fc.jsonValue({ maxDepth: 0 }),
    ),
    name: fc.oneof(name, fc.jsonValue({ maxDepth: 1 })),
    inResponseTo: fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.jsonValue({ maxDepth: 1 })),
    error: fc.oneof(fc.constantFrom("method `echo' not found", 'boom'), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);
// A reply to one of this side's pending callbacks (index into the callback names it sent).
const reply = fc.record({ reply: fc.nat(20), params: fc.array(param, { maxLength: 3 }) });
const input = fc.oneof(
  callMessage,
  callMessage,
  otherMessage,
  reply,
  fc.jsonValue({ maxDepth: 2 }),
  fc.anything({ maxDepth: 1 }),
);

describe('the message handler under fuzzed input', () => {
  it('only ever answers with valid messages, throws nothing but ProtocolError, and stays bounded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(input, { maxLength: 25 }),
        fc.integer({ min: 1, max: 8 }),
        async (inputs, max) => {
          const sent: PillionMessage[] = [];
          const problems: string[] = [];
          const session = new PillionSession({
            send: (json) => {
              const m = JSON.parse(json) as PillionMessage;
              const problem = invalid(m);
              if (problem) problems.push(`${problem}: ${JSON.stringify(m)}`);
              sent.push(m);
            },
            peerName: () => 'fuzz',
            maxPendingCallbacks: max,
            callbackTtl: 60_000,
            maxRemoteMethods: 5,
          });
          session.provide('echo', (...args: unknown[]) => {
            const cb = args.at(-1);
            if (typeof cb === 'function') cb(...args.slice(0, -1));
          });
          session.provide('nested', (cb: unknown) => {
            if (typeof cb === 'function') cb('again', () => {});
          });
          session.provide('throws', () => {
            throw new Error('boom');
          });
          session.provide('async', async (x: unknown) => x ?? 'default');
          session.provide('void', () => {});
          session.start();
          const calls = [session.call('echo', [1]), session.call('far', [], { timeout: 60_000 })];
          session.callRemote('cb', [() => {}, 2, () => {}]);
          for (const c of calls) c.catch(() => {});
          for (const item of inputs) {
            let message: unknown = item;
            if (
              typeof item === 'object' &&
              item !== null &&
              'reply' in item &&
              Object.keys(item).length === 2
            ) {
              const names = sent.flatMap((m) =>
                m.type === 'call' ? m.functions.map((k) => (m.params[k] as { name: string }).name) : [],
              );
              const target = names[(item as { reply: number }).reply % Math.max(1, names.length)];
              message = {
                type: 'call',
                id: 'r1',
                method: target ?? 'x_none',
                params: (item as unknown as { params: unknown[] }).params,
                functions: [],
              };
            }
            try {
              session.receive(message);
            } catch (err) {
              expect(err).toBeInstanceOf(ProtocolError);
            }
            expect(session.pendingCallbacks).toBeLessThanOrEqual(max);
            expect(session.remoteMethods.size).toBeLessThanOrEqual(5);
          }
          await new Promise((resolve) => setImmediate(resolve));
          expect(problems).toEqual([]);
          session.close(new ConnectionClosedError('fuzz over'));
          expect(session.pendingCallbacks).toBe(0);
          const settled = await Promise.allSettled(calls);
          for (const s of settled) expect(s.status === 'fulfilled' || s.reason instanceof Error).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
