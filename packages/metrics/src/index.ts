export { METRICS } from './definitions.js';
export { MetricsListenError } from './errors.js';
export { DURATION_BUCKETS, type MetricDef } from './instruments.js';
export {
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PATH,
  DEFAULT_METRICS_PORT,
  MAX_KNOWN_NAMES,
  METRICS_METADATA_KEY,
  type MetricsOptions,
} from './options.js';
export { type MetricsPlugin, metrics, type SidecarMetrics } from './plugin.js';
