import type { Metric, Registry as PromRegistry } from 'prom-client';

/** Label values by Prometheus label name. */
type PromLabels = Record<string, string>;

/** One label set of a counter: its running total. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: PromLabels) {}
}

/**
 * One label set of a histogram, counted here: observations per bucket (not cumulative, the last
 * slot for values above every bound), their sum and count. An observation is two additions and
 * a short scan of the bounds from the smallest (durations mostly land in the first buckets);
 * prom-client only reads the counts when it renders the text.
 */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: PromLabels,
    readonly bounds: Float64Array,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one observation. */
  observe(value: number): void {
    this.count++;
    this.sum += value;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
  }

  /** Back to zero (the series stays bound where it is used). */
  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

type Series = CounterSeries | HistogramSeries;

/** What prom-client's registry reads from a metric (`get()`), as its own metric classes return it. */
interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

/**
 * A counter or histogram kept as plain numbers per label set and rendered by prom-client's
 * registry at scrape time. prom-client's own classes validate and hash the labels on every
 * observation; this one does that once per label set, so that recording a call costs a few
 * additions (the hot paths: every RPC call, every stream).
 */
export class LocalMetric<S extends Series = Series> {
  readonly #series = new Map<string, S>();
  readonly #bounds: Float64Array;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    readonly buckets: readonly number[] = [],
    registry?: PromRegistry,
  ) {
    this.#bounds = Float64Array.from(buckets);
    registry?.registerMetric(this as unknown as Metric);
  }

  /** The series of one label set, made on first use; `key` identifies it. */
  series(key: string, labels: PromLabels): S {
    let s = this.#series.get(key);
    if (!s) {
      s = (
        this.type === 'histogram' ? new HistogramSeries(labels, this.#bounds) : new CounterSeries(labels)
      ) as S;
      this.#series.set(key, s);
    }
    return s;
  }

  /** prom-client's registry calls this when it renders the metrics. */
  get(): MetricJson {
    const values: MetricJson['values'] = [];
    for (const s of this.#series.values()) {
      if (s instanceof CounterSeries) {
        values.push({ labels: s.labels, value: s.value });
        continue;
      }
      let cumulative = 0;
      for (const [i, le] of this.buckets.entries()) {
        cumulative += s.counts[i] as number;
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values };
  }

  /**
   * Sets every series back to zero (prom-client's `registry.resetMetrics()`); they stay, as the
   * hot paths hold them bound.
   */
  reset(): void {
    for (const s of this.#series.values()) {
      if (s instanceof CounterSeries) s.value = 0;
      else s.clear();
    }
  }
}
