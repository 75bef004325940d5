import type { Metric, Registry as PromRegistry } from 'prom-client';

/** Label values by Prometheus label name. */
type PromLabels = Record<string, string>;

interface Series {
  labels: PromLabels;
  /** Counters: the total. Histograms: the count. */
  value: number;
  sum: number;
  /** Histograms: observations per bucket (not cumulative). */
  counts: number[] | undefined;
}

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
export class LocalMetric {
  readonly #series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    readonly buckets: readonly number[] = [],
    registry?: PromRegistry,
  ) {
    registry?.registerMetric(this as unknown as Metric);
  }

  /** The series of one label set, made on first use; `key` identifies it. */
  series(key: string, labels: PromLabels): Series {
    let s = this.#series.get(key);
    if (!s) {
      s = {
        labels,
        value: 0,
        sum: 0,
        counts: this.type === 'histogram' ? this.buckets.map(() => 0) : undefined,
      };
      this.#series.set(key, s);
    }
    return s;
  }

  /** Adds `value` to a counter series. */
  static add(series: Series, value: number): void {
    series.value += value;
  }

  /** Records one observation in a histogram series. */
  observe(series: Series, value: number): void {
    series.value += 1;
    series.sum += value;
    const counts = series.counts as number[];
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= (buckets[i] as number)) {
        counts[i] = (counts[i] as number) + 1;
        return;
      }
    }
  }

  /** prom-client's registry calls this when it renders the metrics. */
  get(): MetricJson {
    const values: MetricJson['values'] = [];
    for (const s of this.#series.values()) {
      if (this.type === 'counter') {
        values.push({ labels: s.labels, value: s.value });
        continue;
      }
      let cumulative = 0;
      for (const [i, le] of this.buckets.entries()) {
        cumulative += (s.counts as number[])[i] as number;
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.value, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.value, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values };
  }

  /** Forgets every series (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.#series.clear();
  }
}
