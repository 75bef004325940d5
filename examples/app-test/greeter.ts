/**
 * A small app: a greeter service and a client call, written against sidecar's config so that
 * production uses the defaults (SQLite registry, TCP) and tests can swap in memory adapters.
 */
import { createSidecar, type Sidecar, type SidecarConfig } from '@sidecar/core';

/** Starts the greeter: every stream receives one line, a name, and gets a greeting back. */
export async function startGreeter(overrides: Partial<SidecarConfig> = {}): Promise<Sidecar> {
  const app = createSidecar({ name: 'greeter', ...overrides });
  app.on('stream', (stream) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    stream.on('end', () => stream.end(`hi there, ${text.trim()}`));
  });
  await app.start();
  return app;
}

/** Asks the greeter to greet `who`. */
export async function greet(client: Sidecar, who: string): Promise<string> {
  const stream = client.to('greeter');
  stream.end(who);
  let reply = '';
  for await (const chunk of stream) reply += chunk.toString();
  return reply;
}
