import { SidecarError } from './sidecar-error.js';

/** The registry could not be reached or answered with an error. */
export class RegistryUnavailableError extends SidecarError {
  readonly code = 'SIDECAR_ERR_REGISTRY_UNAVAILABLE';
  override readonly retryable = true;
}

/** The registry refused the credentials (wrong password or user). Not retryable: fix the configuration. */
export class RegistryAuthError extends SidecarError {
  readonly code = 'SIDECAR_ERR_REGISTRY_AUTH';
}

/** A registry record failed validation (it is skipped, and reported as a warning). */
export class InvalidRecordError extends SidecarError {
  readonly code = 'SIDECAR_ERR_INVALID_RECORD';
}

/** A heartbeat found its record gone from the registry (it is registered again). */
export class RecordNotFoundError extends SidecarError {
  readonly code = 'SIDECAR_ERR_RECORD_NOT_FOUND';
  override readonly retryable = true;
}
