/**
 * A server peer process: one sidecar per name in `names` (reliability protocol over plain
 * streams) and per name in `rpcNames` (pillion RPC). Prints `ready` with every instance, then
 * serves until `{cmd:'stop'}` (graceful: deregisters, a `leave`) or until it is killed.
 *
 * With `follow`, it watches its host's address and re-advertises its endpoints when it changes:
 * core advertises the address it saw at start() and never updates it (see docs/reliability.md).
 */
import { networkInterfaces } from 'node:os';
import type { Sidecar } from '@sidecar/core';
import { emit, errorInfo, onCommand, readConfig, reportCrashes, sleep } from './lib/io.js';
import { type PeerBase, startRpcServer, startServer } from './lib/serve.js';

interface ServerConfig extends PeerBase {
  /** Names served with the reliability protocol. @default [] */
  names?: string[];
  /** Names served with pillion RPC. @default [] */
  rpcNames?: string[];
  /** Follow the host's address: poll every `intervalMs`, re-advertise `delayMs` after a change. */
  follow?: { intervalMs: number; delayMs: number };
}

reportCrashes();
const config = readConfig<ServerConfig>();
const apps: Sidecar[] = [];
for (const name of config.names ?? []) apps.push(await startServer(config, name));
for (const name of config.rpcNames ?? []) apps.push(await startRpcServer(config, name));

emit({
  t: 'ready',
  app: config.app,
  pid: process.pid,
  instances: apps.map((a) => ({ name: a.name, instanceId: a.instanceId, endpoints: a.record.endpoints })),
});

/** This host's first non-internal IPv4 address (a lab host has exactly one: eth0). */
function currentAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.family === 'IPv4' && !info.internal) return info.address;
  }
  return undefined;
}

async function follow(intervalMs: number, delayMs: number): Promise<void> {
  let advertised = apps[0]?.record.endpoints[0]?.host;
  while (!stopping) {
    await sleep(intervalMs);
    const now = currentAddress();
    if (!now || now === advertised) continue;
    emit({ t: 'address-changed', from: advertised, to: now });
    if (delayMs > 0) await sleep(delayMs);
    const settled = currentAddress();
    if (settled !== now) continue;
    for (const app of apps) {
      const endpoints = app.record.endpoints.map((e) => ({ ...e, host: now }));
      try {
        await app.registry.register({ ...app.record, endpoints }, config.ttl ?? 6000);
        emit({ t: 'readvertised', name: app.name, instanceId: app.instanceId, from: advertised, to: now });
      } catch (err) {
        emit({ t: 'readvertise-failed', name: app.name, error: errorInfo(err) });
      }
    }
    advertised = now;
  }
}

let stopping = false;
if (config.follow) void follow(config.follow.intervalMs, config.follow.delayMs);

onCommand(async (command) => {
  if (command.cmd !== 'stop' || stopping) return;
  stopping = true;
  await Promise.all(apps.map((a) => a.stop()));
  emit({ t: 'stopped' });
  process.exit(0);
});
