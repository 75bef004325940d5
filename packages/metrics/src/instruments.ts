import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import { type CounterSeries, type HistogramSeries, LocalMetric } from './local-metrics.js';

/** Label values by OpenTelemetry attribute name (`rpc.method`); Prometheus gets `rpc_method`. */
export type Labels = Record<string, string>;

/** One metric, named both ways. */
export interface MetricDef {
  /** OpenTelemetry name, e.g. `rpc.client.call.duration`. */
  otel: string;
  /** Prometheus name, e.g. `rpc_client_call_duration_seconds`. */
  prom: string;
  help: string;
  /** UCUM unit for OpenTelemetry: `s`, `By`, `{stream}`. */
  unit: string;
  /** Attribute names (OpenTelemetry spelling). */
  labels: readonly string[];
}

/** Reports the current values of an observable metric. */
export type Observe = (report: (value: number, labels: Labels) => void) => void | Promise<void>;

/** A counter of both backends. */
export interface CounterLike {
  add(value: number, labels: Labels): void;
  /** The counter of one label set, for a hot path (no lookup per use). */
  bind(labels: Labels): (value: number) => void;
}
/** The histogram of one label set, for a hot path (no lookup per use). */
export interface BoundHistogram {
  record(value: number): void;
}
/** A histogram of both backends. */
export interface HistogramLike {
  record(value: number, labels: Labels): void;
  /** The histogram of one label set, for a hot path (no lookup per use). */
  bind(labels: Labels): BoundHistogram;
}

/**
 * One label set of a histogram on both backends: Prometheus's counted here (bucket counts read
 * at scrape time), OpenTelemetry's recorded through its API (which takes single values only).
 */
class BoundSeries implements BoundHistogram {
  constructor(
    readonly prom: HistogramSeries | undefined,
    readonly otel: Histogram | undefined,
    readonly attrs: Attributes,
  ) {}

  record(value: number): void {
    this.prom?.observe(value);
    this.otel?.record(value, this.attrs);
  }
}

/** Histogram buckets for durations, in seconds. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const promLabel = (name: string) => name.replace(/\./g, '_');

function promLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const key in labels) out[promLabel(key)] = labels[key] as string;
  return out;
}

/**
 * Memoizes, per label set, what recording needs (the series, the OTel attributes): the hot paths
 * (every call, every stream) then skip label validation, hashing and allocation. Label values
 * come from this process (method names it provides or calls, error codes), so the sets are few.
 */
function binder<T>(
  names: readonly string[],
  make: (labels: Labels, key: string) => T,
): (labels: Labels) => T {
  const bound = new Map<string, T>();
  return (labels) => {
    let key = '';
    for (let i = 0; i < names.length; i++) key += `${labels[names[i] as string] ?? ''}\u0000`;
    let entry = bound.get(key);
    if (entry === undefined) {
      entry = make(labels, key);
      bound.set(key, entry);
    }
    return entry;
  };
}

/** Makes each metric on prom-client and on an OpenTelemetry meter, either or both. */
export class Instruments {
  constructor(
    private readonly prom: PromRegistry | undefined,
    private readonly meter: Meter | undefined,
  ) {}

  counter(def: MetricDef): CounterLike {
    const p = this.prom ? new LocalMetric(def.prom, def.help, 'counter', [], this.prom) : undefined;
    const o = this.meter?.createCounter(def.otel, { description: def.help, unit: def.unit });
    const make = (labels: Labels, key: string) => {
      const series = p?.series(key, promLabels(labels)) as CounterSeries | undefined;
      const attrs = { ...labels } as Attributes;
      return (value: number) => {
        if (series) series.value += value;
        o?.add(value, attrs);
      };
    };
    const bound = binder(def.labels, make);
    return { add: (value, labels) => bound(labels)(value), bind: bound };
  }

  histogram(def: MetricDef, buckets = DURATION_BUCKETS): HistogramLike {
    const p = this.prom ? new LocalMetric(def.prom, def.help, 'histogram', buckets, this.prom) : undefined;
    const o = this.meter?.createHistogram(def.otel, {
      description: def.help,
      unit: def.unit,
      advice: { explicitBucketBoundaries: buckets },
    });
    const make = (labels: Labels, key: string) =>
      new BoundSeries(p?.series(key, promLabels(labels)) as HistogramSeries | undefined, o, {
        ...labels,
      } as Attributes);
    const bound = binder(def.labels, make);
    return { record: (value, labels) => bound(labels).record(value), bind: bound };
  }

  /** A value read when collected (a gauge), or a running total read when collected (`monotonic`). */
  observable(def: MetricDef, observe: Observe, monotonic = false): void {
    if (this.prom) {
      const labelNames = def.labels.map(promLabel);
      const config = {
        name: def.prom,
        help: def.help,
        labelNames,
        registers: [this.prom],
      };
      if (monotonic) {
        new Counter({
          ...config,
          async collect() {
            this.reset();
            await observe((value, labels) => this.inc(promLabels(labels), value));
          },
        });
      } else {
        new Gauge({
          ...config,
          async collect() {
            this.reset();
            await observe((value, labels) => this.set(promLabels(labels), value));
          },
        });
      }
    }
    if (this.meter) {
      const options = { description: def.help, unit: def.unit };
      const o = monotonic
        ? this.meter.createObservableCounter(def.otel, options)
        : this.meter.createObservableGauge(def.otel, options);
      o.addCallback(async (result) => {
        await observe((value, labels) => result.observe(value, labels as Attributes));
      });
    }
  }
}
