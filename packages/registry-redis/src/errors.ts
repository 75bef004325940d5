import { RegistryAuthError, RegistryUnavailableError, type SidecarError } from '@sidecar/core';

const AUTH_FAILURE = /WRONGPASS|NOAUTH|invalid password|invalid username|user is disabled|NOPERM/i;

/**
 * Redis refused the credentials (wrong password or ACL user, or none given where one is needed).
 * Not retryable: fix the configuration. A RegistryAuthError from core, specialised for Redis.
 *
 * @example
 * ```ts
 * try { await app.start(); }
 * catch (err) { if (err instanceof RedisAuthError) console.error('check the Redis user/password'); }
 * ```
 */
export class RedisAuthError extends RegistryAuthError {}

/** True if a Redis error says the credentials were refused. */
export function isAuthFailure(err: unknown): boolean {
  return err instanceof Error && AUTH_FAILURE.test(err.message);
}

/** The typed error `start()` rejects with when the first connection fails. */
export function connectError(err: unknown, where: string): SidecarError {
  const detail = err instanceof Error ? err.message : String(err);
  if (isAuthFailure(err)) {
    return new RedisAuthError(
      `Redis at ${where} refused the credentials (${detail}); check the user and password in the registry URL or options`,
      { cause: err },
    );
  }
  return new RegistryUnavailableError(
    `could not connect to Redis at ${where} (${detail}); is the server running and reachable?`,
    { cause: err },
  );
}
