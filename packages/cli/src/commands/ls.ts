import { type InstanceRecord, openRegistry } from '@sidecar/core';
import { escapeText, safeJson } from '../escape.js';
import { type GlobalOptions, openArgs } from '../options.js';
import { duration, spinner, table } from '../output.js';

/** Options of `sidecar ls`. */
export interface LsOptions extends GlobalOptions {
  json?: boolean;
}

/** One record as `ls --json` prints it. */
export function recordJson(r: InstanceRecord, now = Date.now()): object {
  return { ...r, ageMs: now - r.registeredAt, expiresInMs: r.expiresAt - now };
}

/** `sidecar ls [pattern]`: the live peers as a table, or JSON. */
export async function ls(pattern: string, options: LsOptions): Promise<void> {
  const wait = spinner('reading the registry');
  const registry = await openRegistry(...openArgs(options)).finally(() => wait.stop());
  try {
    const records = (await registry.list(pattern)).sort(
      (a, b) => a.name.localeCompare(b.name) || a.registeredAt - b.registeredAt,
    );
    const now = Date.now();
    if (options.json) {
      process.stdout.write(
        `${safeJson(
          records.map((r) => recordJson(r, now)),
          2,
        )}\n`,
      );
      return;
    }
    if (records.length === 0) {
      process.stdout.write(
        `no live peers match "${escapeText(pattern)}" in namespace "${escapeText(registry.namespace)}"\n`,
      );
      return;
    }
    const rows = records.map((r) =>
      [
        r.name,
        r.instanceId,
        r.endpoints.map((e) => `${e.transport}://${e.host}:${e.port}`).join(' '),
        r.methods.join(',') || '-',
        duration(now - r.registeredAt),
        duration(r.expiresAt - now),
      ].map(escapeText),
    );
    process.stdout.write(
      `${table(['NAME', 'INSTANCE', 'ENDPOINTS', 'METHODS', 'AGE', 'EXPIRES IN'], rows)}\n`,
    );
  } finally {
    await registry.stop();
  }
}
