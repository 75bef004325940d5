import { pipeline } from 'node:stream/promises';
import { createSidecar, validateName } from '@sidecar/core';
import { cliPeerName, type GlobalOptions, registryOf } from '../options.js';
import { spinner } from '../output.js';

/** Options of `sidecar cat`. */
export interface CatOptions extends GlobalOptions {
  /** How long to wait for the peer, in ms. */
  timeout?: number;
}

/**
 * `sidecar cat <name>`: netcat by name. stdin goes to the peer, its replies to stdout; ends
 * when both directions have ended (stdin at EOF and the peer closed its side).
 */
export async function cat(name: string, options: CatOptions): Promise<void> {
  validateName(name);
  const registry = registryOf(options);
  const app = createSidecar({
    name: cliPeerName(),
    register: false,
    events: false,
    ...(registry ? { registry } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
  });
  await app.start();
  try {
    const wait = spinner(`connecting to "${name}"`);
    const stream = await app
      .connect(name, options.timeout ? { timeout: options.timeout } : {})
      .finally(() => wait.stop());
    await Promise.all([
      pipeline(process.stdin, stream, { end: true }),
      pipeline(stream, process.stdout, { end: false }),
    ]);
  } finally {
    await app.stop();
  }
}
