import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  DIAGNOSTICS,
  endRpcTimer,
  observeRpcCalls,
  type RpcCallMessage,
  type RpcTimed,
  rpcObserved,
  startRpcTimer,
} from '@sidecar/core/diagnostics';
import { Registry as PromRegistry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS } from '../src/definitions.js';
import { DURATION_BUCKETS, Instruments } from '../src/instruments.js';
import { RpcRecorder } from '../src/rpc-recorder.js';
import { parseMetrics } from './prometheus-text.js';

/** A reader the test collects from on demand. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** Durations in seconds, chosen on, between and beyond the bucket bounds. */
const DURATIONS = [0.0001, 0.0005, 0.0005000001, 0.0007, 0.001, 0.003, 0.02, 0.02, 0.75, 10, 12];

/** The cumulative count per `le` a histogram of `values` must show. */
function expectedBuckets(values: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const le of DURATION_BUCKETS) out[String(le)] = values.filter((v) => v <= le).length;
  out['+Inf'] = values.length;
  return out;
}

/** Feeds `recorder` one successful call per duration. */
function feed(recorder: RpcRecorder, side: 'client' | 'server', method: string, values: number[]): void {
  for (const duration of values) recorder.record(side, method, duration, undefined);
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('RPC call histograms', () => {
  it('count calls of known durations into the right buckets, sum and count (Prometheus and OTel)', async () => {
    const prom = new PromRegistry();
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const instruments = new Instruments(prom, provider.getMeter('test'));
    const recorder = new RpcRecorder(
      instruments.histogram(METRICS.rpcClient),
      instruments.histogram(METRICS.rpcServer),
      instruments.counter(METRICS.rpcErrors),
    );
    // Two methods interleaved on the client (the recorder keeps the last one at hand), one on the server.
    const other = [0.002, 0.3];
    feed(recorder, 'client', 'add', DURATIONS.slice(0, 5));
    feed(recorder, 'client', 'other', other);
    feed(recorder, 'client', 'add', DURATIONS.slice(5));
    feed(recorder, 'server', 'add', [0.004]);
    recorder.record('client', 'add', 0.05, 'TimeoutError');

    const families = parseMetrics(await prom.metrics());
    const client = families.get('rpc_client_call_duration_seconds');
    expect(client?.type).toBe('histogram');
    const series = (method: string, error = '') =>
      client?.samples.find((s) => s.labels.rpc_method === method && s.labels.error_type === error);
    const add = series('add');
    expect(add?.labels).toEqual({ rpc_system: 'pillion', rpc_method: 'add', error_type: '' });
    expect(add?.buckets).toEqual(expectedBuckets(DURATIONS));
    expect(add?.count).toBe(DURATIONS.length);
    expect(add?.sum).toBeCloseTo(
      DURATIONS.reduce((a, b) => a + b, 0),
      9,
    );
    expect(series('other')?.buckets).toEqual(expectedBuckets(other));
    expect(series('add', 'TimeoutError')?.buckets).toEqual(expectedBuckets([0.05]));
    const server = families.get('rpc_server_call_duration_seconds')?.samples;
    expect(server?.map((s) => [s.labels.rpc_method, s.count, s.sum])).toEqual([['add', 1, 0.004]]);
    expect(families.get('sidecar_rpc_errors_total')?.samples).toEqual([
      { labels: { side: 'client', rpc_method: 'add', error_type: 'TimeoutError' }, value: 1 },
    ]);

    // OpenTelemetry got every value too, with the same bounds.
    const { resourceMetrics } = await reader.collect();
    const otel = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'rpc.client.call.duration');
    expect(otel?.descriptor.unit).toBe('s');
    const point = otel?.dataPoints.find(
      (p) => p.attributes['rpc.method'] === 'add' && p.attributes['error.type'] === '',
    );
    const value = point?.value as { count: number; buckets: { boundaries: number[]; counts: number[] } };
    expect(value.count).toBe(DURATIONS.length);
    expect(value.buckets.boundaries).toEqual(DURATION_BUCKETS);
    const perBucket = [...DURATION_BUCKETS, Number.POSITIVE_INFINITY].map(
      (le, i, all) => DURATIONS.filter((v) => v <= le && (i === 0 || v > (all[i - 1] as number))).length,
    );
    expect(value.buckets.counts).toEqual(perBucket);
    await provider.shutdown();
  });

  it('resets to zero in place: series bound before a reset keep counting', async () => {
    const prom = new PromRegistry();
    const instruments = new Instruments(prom, undefined);
    const recorder = new RpcRecorder(
      instruments.histogram(METRICS.rpcClient),
      instruments.histogram(METRICS.rpcServer),
      instruments.counter(METRICS.rpcErrors),
    );
    feed(recorder, 'client', 'add', [0.001, 0.002]);
    prom.resetMetrics();
    feed(recorder, 'client', 'add', [0.3]);
    const add = parseMetrics(await prom.metrics()).get('rpc_client_call_duration_seconds')?.samples[0];
    expect(add?.count).toBe(1);
    expect(add?.buckets).toEqual(expectedBuckets([0.3]));
  });
});

describe("core's RPC timer", () => {
  /** Every call finished, seen both ways: by a channel subscriber and by an observer. */
  const listen = () => {
    const seen: RpcCallMessage[] = [];
    const observed: RpcCallMessage[] = [];
    const handler = (m: unknown) => seen.push(m as RpcCallMessage);
    subscribe(DIAGNOSTICS.rpcCall, handler);
    const stop = observeRpcCalls((owner, side, method, duration, error) =>
      observed.push({ owner, side, method, duration, error }),
    );
    cleanups.push(() => unsubscribe(DIAGNOSTICS.rpcCall, handler), stop);
    return { seen, observed };
  };
  const timed = (method: string): RpcTimed => ({ method, rpcStart: -1, rpcOwner: '' });

  it('times nothing when nothing observes, and ends a call once', () => {
    expect(rpcObserved()).toBe(false);
    const untimed = timed('a');
    startRpcTimer(untimed, 'owner');
    expect(untimed.rpcStart).toBe(-1);
    const { seen, observed } = listen();
    expect(rpcObserved()).toBe(true);
    endRpcTimer(untimed, 'client');
    expect(seen).toEqual([]);

    const call = timed('a');
    startRpcTimer(call, 'owner');
    expect(call.rpcStart).toBeGreaterThanOrEqual(0);
    expect(call.rpcOwner).toBe('owner');
    endRpcTimer(call, 'server', Object.assign(new Error('x'), { code: 'E_X' }));
    endRpcTimer(call, 'server');
    const expected = {
      owner: 'owner',
      side: 'server',
      method: 'a',
      duration: expect.any(Number),
      error: 'E_X',
    };
    expect(seen).toEqual([expected]);
    expect(observed).toEqual(seen);
  });

  it('reports the duration from the start the call carries, in seconds', () => {
    const { seen, observed } = listen();
    const call = timed('slow');
    startRpcTimer(call, 'owner');
    // A start 250 ms before the clock of this run: the duration is those 250 ms exactly.
    call.rpcStart -= 250;
    endRpcTimer(call, 'client');
    expect(observed).toHaveLength(1);
    expect(observed[0]?.duration).toBeCloseTo(0.25, 9);
    expect(observed[0]?.error).toBeUndefined();
    expect(seen).toEqual(observed);
  });

  it("never throws an observer's error into the call: it is rethrown on a later tick", () => {
    const failure = new Error('observer bug');
    const after: string[] = [];
    cleanups.push(
      observeRpcCalls(() => {
        throw failure;
      }),
      observeRpcCalls((_o, _s, method) => after.push(method)),
    );
    const ticks: Array<() => void> = [];
    const nextTick = vi.spyOn(process, 'nextTick').mockImplementation(((fn: () => void) => {
      ticks.push(fn);
    }) as typeof process.nextTick);
    try {
      const call = timed('m');
      startRpcTimer(call, 'owner');
      expect(() => endRpcTimer(call, 'client')).not.toThrow();
    } finally {
      nextTick.mockRestore();
    }
    expect(after).toEqual(['m']);
    expect(ticks).toHaveLength(1);
    expect(() => ticks[0]?.()).toThrow(failure);
  });

  it('stops observing once, and keeps the other observers', () => {
    const first: string[] = [];
    const second: string[] = [];
    const stopFirst = observeRpcCalls((_o, _s, method) => first.push(method));
    const stopSecond = observeRpcCalls((_o, _s, method) => second.push(method));
    cleanups.push(stopSecond);
    const call = (method: string) => {
      const c = timed(method);
      startRpcTimer(c, 'owner');
      endRpcTimer(c, 'client');
    };
    call('both');
    stopFirst();
    stopFirst();
    call('second only');
    expect(first).toEqual(['both']);
    expect(second).toEqual(['both', 'second only']);
    stopSecond();
    expect(rpcObserved()).toBe(false);
  });
});
