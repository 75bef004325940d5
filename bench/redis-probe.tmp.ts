import { RedisRegistry } from '@sidecar/registry-redis';
import { startRedis } from '../test/setup/servers/index.js';
const redis = await startRedis();
const reg = new RedisRegistry({ url: redis.url, namespace: 'bench', sweepInterval: 60000 }) as any;
await reg.start();
await reg.register({ name: 'lookup-target', instanceId: 'i1', namespace: 'bench', endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 4000 }], methods: ['greet'], metadata: { v: '1' }, registeredAt: Date.now() }, 600000);
const raw = reg.client.duplicate(); await raw.connect();
await raw.set('bench:get', 'x'.repeat(250));
const k = reg.keys;
const fns: Record<string, () => Promise<unknown>> = {
  get: () => raw.get('bench:get'),
  script: () => reg.client.sidecarFetchByName(k.expiry, k.name('lookup-target')),
  lean: () => raw.eval("local t=redis.call('TIME') local f=redis.call('HGETALL', KEYS[2]) return f", 2, k.expiry, k.name('lookup-target')),
  hgetall: () => raw.hgetall(k.name('lookup-target')),
  lookup: () => reg.lookup('lookup-target', { fresh: true }),
};
const res: Record<string, number[]> = {};
for (let r = 0; r < 10; r++) for (const [n, f] of Object.entries(fns).filter(([n]) => process.argv[2] ? n === process.argv[2] : true)) { const t = process.cpuUsage(); const w = performance.now(); for (let i = 0; i < 500; i++) await f(); const u = process.cpuUsage(t); (res[n] ??= []).push((performance.now() - w) * 1000 / 500); (res[n + ' cpu'] ??= []).push((u.user + u.system) / 500); }
for (const [n, v] of Object.entries(res)) console.log(n.padEnd(14), v.sort((a, b) => a - b)[5]!.toFixed(1));
console.log((await raw.info('commandstats')).split('\n').filter((l: string) => /eval|get/.test(l)).join('\n'));
raw.disconnect(); await reg.stop(); await redis.stop();
