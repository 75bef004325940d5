import type { InstanceRecord } from '@sidecar/core';
import { recordJsonHead } from '@sidecar/core/plugin-kit';

/**
 * What the register script gets for a record: its JSON without the `expiresAt` member and the
 * closing brace; the script appends `,"expiresAt":N}` by the server's clock, so the stored JSON
 * ends with its expiry and a renew can rewrite it in place without parsing the JSON.
 */
export function serialize(record: InstanceRecord): string {
  return recordJsonHead(record);
}
