import { createSidecar, type InstanceRecord, type PeerGroup } from '@sidecar/core';
import { type PeerResult, type PillionStream, pillion, type Remote } from '@sidecar/wrapper-pillion';
import { describe, expectTypeOf, it } from 'vitest';

// These checks run in `tsc -p test/tsconfig.json` (the test itself only builds the objects).
describe('types flow from pillion() into createSidecar without casts', () => {
  it('types to(name), to(pattern), call, discover and proxy', () => {
    const app = createSidecar({ name: 'my-server-app', registry: 'memory:types', wrappers: [pillion()] });
    expectTypeOf(app.to('my-server-app')).toEqualTypeOf<PillionStream>();
    expectTypeOf(app.to('my-server-app').call).returns.toEqualTypeOf<Promise<unknown>>();
    expectTypeOf(app.to('my-server-app').call<string>).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(app.to('*')).toExtend<PeerGroup<PillionStream>>();
    expectTypeOf(app.to('*').provide).toBeFunction();
    expectTypeOf(app.to('worker-?').provide).parameter(0).toEqualTypeOf<string>();
    // the README program compiles as written
    app.to('*').provide('greet', (name, cb) => cb(`hi there, ${name}`));
    app.to('*').forEach((stream) => {
      expectTypeOf(stream).toEqualTypeOf<PillionStream>();
    });
    app.on('stream', (stream) => expectTypeOf(stream).toEqualTypeOf<PillionStream>());

    expectTypeOf(app.discover).returns.toEqualTypeOf<Promise<InstanceRecord[]>>();
    const one = () => app.call<number>('default://billing/charge', 10);
    expectTypeOf(one).returns.toEqualTypeOf<Promise<number>>();
    const many = () => app.call<number>('default://worker-?/charge', 10);
    expectTypeOf(many).returns.toEqualTypeOf<Promise<PeerResult<number>[]>>();

    interface Billing {
      charge(amount: number): { ok: boolean };
      refund(id: string): Promise<string>;
      version: string;
    }
    const billing = app.proxy<Billing>('billing');
    expectTypeOf(billing).toEqualTypeOf<Remote<Billing>>();
    expectTypeOf(billing.charge).toEqualTypeOf<(amount: number) => Promise<{ ok: boolean }>>();
    expectTypeOf(billing.refund).toEqualTypeOf<(id: string) => Promise<string>>();
    expectTypeOf<keyof Remote<Billing>>().toEqualTypeOf<'charge' | 'refund'>();
  });

  it('keeps plain Duplex types without pillion', () => {
    const plain = createSidecar({ name: 'plain', registry: 'memory:types' });
    expectTypeOf(plain.to('x')).not.toHaveProperty('call');
    expectTypeOf(plain).not.toHaveProperty('discover');
  });
});
