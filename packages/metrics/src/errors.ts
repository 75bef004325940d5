import { SidecarError } from '@sidecar/core';

/** The `/metrics` server could not listen (port taken, address not on this machine). */
export class MetricsListenError extends SidecarError {
  readonly code = 'SIDECAR_ERR_METRICS_LISTEN';
}
