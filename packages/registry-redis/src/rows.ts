import type { InstanceRecord } from '@sidecar/core';

/**
 * Serializes a record with `expiresAt` as its last member, so a renew script can rewrite the
 * expiry in place (`,"expiresAt":N}` at the very end) without parsing the JSON.
 */
export function serialize(record: InstanceRecord): string {
  const { expiresAt, ...rest } = record;
  return JSON.stringify({ ...rest, expiresAt });
}
