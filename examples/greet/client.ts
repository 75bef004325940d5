/**
 * The client half of the greet example: calls my-server-app's greet() by name, first with a
 * callback (the original API), then with a promise.
 */
import { createSidecar } from '@sidecar/core';
import { pillion } from '@sidecar/wrapper-pillion';

const who = process.argv[2] ?? 'bob';
const app = createSidecar({ name: 'greet-client', wrappers: [pillion()], register: false });
await app.start();

const server = app.to('my-server-app');
const viaCallback = await new Promise<unknown>((resolve) => server.callRemote('greet', who, resolve));
console.log(`callback: ${String(viaCallback)}`);
console.log(`promise: ${String(await server.call('greet', `${who} again`))}`);
await app.stop();
