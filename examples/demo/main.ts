/**
 * The sidecar demo: named peers find each other and exchange data by name, with no host or
 * port written anywhere. Run it with `pnpm demo`.
 */
import { createSidecar, type PeerInfo } from '@sidecar/core';

const say = (who: string, text: string) => console.log(`${who.padEnd(10)} ${text}`);
const store = `demo-${process.pid}`;
const registry = `memory:${store}` as const;

// 1. Two peers start. Each listens on a free TCP port and registers its name in the registry.
const billing = createSidecar({ name: 'billing', registry, transports: ['tcp'] });
const shop = createSidecar({ name: 'shop', registry, transports: ['tcp'] });
shop.on('join', (p: PeerInfo) => say('shop', `saw "${p.name}" join`));
shop.on('leave', (p: PeerInfo) => say('shop', `saw "${p.name}" leave`));
await shop.start();
await billing.start();
const endpoint = billing.record.endpoints[0];
say(
  'billing',
  `registered; listening on ${endpoint?.transport}://${endpoint?.host}:${endpoint?.port} (nobody needs to know this)`,
);

// 2. billing answers every stream: it reads an amount and replies with a receipt.
billing.on('stream', (stream, caller) => {
  say('billing', `stream from "${caller.name}" (instance ${caller.instanceId})`);
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  stream.on('end', () => stream.end(`receipt: charged ${text.trim()} to ${caller.name}`));
});

// 3. shop asks for a stream to the *name* "billing": lookup, dial, hello and data happen behind it.
const stream = shop.to('billing');
stream.end('42.00 EUR');
let reply = '';
for await (const chunk of stream) reply += chunk.toString();
say('shop', `got "${reply}"`);

// 4. A name nobody has fails with a typed error instead of hanging.
try {
  await shop.connect('payroll', { timeout: 300 });
} catch (err) {
  say('shop', `payroll: ${(err as Error & { code: string }).code}`);
}

// 5. billing stops gracefully: it deregisters, and shop hears it leave.
await billing.stop();
await new Promise((resolve) => setTimeout(resolve, 100));
await shop.stop();
say('demo', 'done: every peer stopped, nothing left running');
