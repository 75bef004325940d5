import { type InstanceRecord, matchName, openRegistry, validatePattern } from '@sidecar/core';
import { escapeText, safeJson } from '../escape.js';
import { type GlobalOptions, openArgs, untilInterrupted } from '../options.js';
import { paint } from '../output.js';

/** Options of `sidecar watch`. */
export interface WatchOptions extends GlobalOptions {
  json?: boolean;
}

const COLORS = { join: 'green', update: 'cyan', leave: 'yellow', timeout: 'red' } as const;

/** `sidecar watch [pattern]`: join / update / leave / timeout events, one line each, until Ctrl-C. */
export async function watch(pattern: string, options: WatchOptions): Promise<void> {
  validatePattern(pattern);
  const registry = await openRegistry(...openArgs(options));
  const print = (type: keyof typeof COLORS) => (record: InstanceRecord) => {
    if (!matchName(pattern, record.name)) return;
    const at = new Date().toISOString();
    if (options.json) {
      process.stdout.write(
        `${safeJson({ at, event: type, name: record.name, instanceId: record.instanceId, record })}\n`,
      );
    } else {
      const endpoints = record.endpoints.map((e) => `${e.transport}://${e.host}:${e.port}`).join(' ');
      const fields = [record.name, record.instanceId, endpoints].map(escapeText).join('  ');
      process.stdout.write(`${at}  ${paint(COLORS[type], type.padEnd(7))}  ${fields}\n`);
    }
  };
  for (const type of Object.keys(COLORS) as Array<keyof typeof COLORS>) registry.on(type, print(type));
  registry.on('warning', (w) => process.stderr.write(`warning: ${escapeText(w.message)}\n`));
  await registry.watch();
  process.stderr.write(
    `watching "${escapeText(pattern)}" in namespace "${escapeText(registry.namespace)}" (Ctrl-C to stop)\n`,
  );
  await untilInterrupted();
  await registry.stop();
}
