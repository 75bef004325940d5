import type { Duplex } from 'node:stream';
import { wrapperComplianceSuite } from '@sidecar/core/testing';
import { PillionStream, pillion } from '@sidecar/wrapper-pillion';

/** pillion streams carry calls, not bytes: an echo is a call to `echo`, a message a raw frame. */
const exchange = {
  serve: (stream: Duplex) => {
    (stream as PillionStream).provide('echo', (value: string, cb: (v: string) => void) => cb(value));
  },
  echo: (stream: Duplex) => (payload: string) => (stream as PillionStream).call<string>('echo', payload),
  send: (stream: Duplex, payload: string) => stream.write({ type: 'compliance', payload }),
};

wrapperComplianceSuite('pillion plugin', {
  create: () => pillion(),
  exchange: { ...exchange, echo: (stream, payload) => exchange.echo(stream)(payload) },
});

wrapperComplianceSuite('PillionStream as a bare wrapper', {
  create: () => (stream, context) => new PillionStream(stream, context),
  exchange: { ...exchange, echo: (stream, payload) => exchange.echo(stream)(payload) },
});
