/**
 * An observer process: a client-only sidecar that watches the registry and prints every
 * `join`, `update`, `leave` and `timeout` event as a JSON line (`t:'event'`).
 */
import { createSidecar } from '@sidecar/core';
import { emit, errorInfo, onCommand, readConfig, reportCrashes } from './lib/io.js';
import { type PeerBase, sidecarConfig } from './lib/serve.js';

interface ObserverConfig extends PeerBase {
  name: string;
}

reportCrashes();
const config = readConfig<ObserverConfig>();
const app = createSidecar({ ...sidecarConfig(config, config.name), register: false });
for (const type of ['join', 'update', 'leave', 'timeout'] as const) {
  app.on(type, (peer) => emit({ t: 'event', type, name: peer.name, instanceId: peer.instanceId }));
}
let warnings = 0;
app.on('warning', (err) => {
  if (warnings++ < 50) emit({ t: 'warning', error: errorInfo(err) });
});
await app.start();
emit({ t: 'ready', name: config.name, pid: process.pid });

onCommand(async (command) => {
  if (command.cmd !== 'stop') return;
  await app.stop();
  emit({ t: 'stopped' });
  process.exit(0);
});
