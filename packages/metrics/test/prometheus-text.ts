/** One sample of a scraped metric family; histograms carry their count, sum and buckets. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
  count?: number;
  sum?: number;
  buckets?: Record<string, number>;
}

/** A scraped metric family. */
export interface Family {
  type: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/**
 * Parses the Prometheus text exposition format (version 0.0.4) strictly: every line is a
 * comment, a `# TYPE`/`# HELP` line or a sample; anything else throws. Histogram series
 * (`_bucket`, `_sum`, `_count`) are folded into one sample per label set.
 */
export function parseMetrics(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const histograms = new Map<string, Sample>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      families.set(name as string, { type: type as string, samples: [] });
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, series, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const value = Number(valueText.replace(/^\+Inf$/, 'Infinity'));
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value in: ${line}`);
    const labels = parseLabels(labelText, line);
    const base = series.replace(/_(bucket|sum|count)$/, '');
    const family = families.get(series) ?? families.get(base);
    if (!family) throw new Error(`sample of an undeclared family: ${line}`);
    if (family.type !== 'histogram') {
      family.samples.push({ labels, value });
      continue;
    }
    const { le, ...rest } = labels;
    const key = `${base}|${JSON.stringify(Object.entries(rest).sort())}`;
    let sample = histograms.get(key);
    if (!sample) {
      sample = { labels: rest, value: 0, count: 0, sum: 0, buckets: {} };
      histograms.set(key, sample);
      family.samples.push(sample);
    }
    if (series.endsWith('_bucket')) (sample.buckets as Record<string, number>)[le as string] = value;
    else if (series.endsWith('_sum')) sample.sum = value;
    else {
      sample.count = value;
      sample.value = value;
    }
  }
  return families;
}

/** The sum of the samples (counts for histograms) of `name` whose labels include `match` (`''` = absent). */
export function total(
  metrics: Map<string, Family>,
  name: string,
  match: Record<string, string> = {},
): number {
  const family = metrics.get(name);
  if (!family) throw new Error(`metric ${name} is missing from the scrape`);
  let sum = 0;
  for (const s of family.samples) {
    if (Object.entries(match).every(([k, v]) => (s.labels[k] ?? '') === v)) sum += s.count ?? s.value;
  }
  return sum;
}
