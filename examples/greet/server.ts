/**
 * The original sidecar README's program, in TypeScript: this process is "my-server-app" and
 * provides greet() to every peer that connects. Run it, then client.ts in another terminal:
 *
 *   pnpm exec tsx --conditions=@sidecar/source examples/greet/server.ts
 *   pnpm exec tsx --conditions=@sidecar/source examples/greet/client.ts bob
 *
 * The registry is the embedded SQLite default; set SIDECAR_REGISTRY (redis://..., postgres://...)
 * to use another one. Nothing in either program names a host or a port.
 */
import { createSidecar } from '@sidecar/core';
import { pillion } from '@sidecar/wrapper-pillion';

const app = createSidecar({ name: 'my-server-app', wrappers: [pillion()] });
app.to('*').provide('greet', (name: string, cb: (text: string) => void) => cb(`hi there, ${name}`));
app.stopOnSignals(); // Ctrl-C / SIGTERM: deregister (peers see a leave), then exit 0
await app.start();
console.log('my-server-app is up; greet() is provided to every peer; Ctrl-C to stop');
