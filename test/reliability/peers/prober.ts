/**
 * A prober process: sends hostile inputs to one endpoint, one connection per probe, and reports
 * how each ended (`closed` by the peer, `refused` with a hello refusal and its reason, or still
 * `open` after `waitMs`). Probes: garbage, an HTTP request, a TLS ClientHello, a port scanner
 * (connect and close), an SSH banner, malformed hellos (a 5 KB instanceId with escapes, NUL in
 * the namespace, look-alike names, a huge declared length), and a valid hello for control.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { encodeHello, HELLO_MAGIC, HELLO_VERSION, readHello } from '@sidecar/core/wire';
import { emit, readConfig, reportCrashes } from './lib/io.js';

interface ProberConfig {
  host: string;
  port: number;
  target: string;
  namespace: string;
  /** How long a probe waits for the peer to answer or close, in ms. @default 8000 */
  waitMs?: number;
}

/** A hello frame with any JSON body: the wire is untrusted, so nothing checks it on this side. */
function frame(body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const header = Buffer.alloc(7);
  HELLO_MAGIC.copy(header, 0);
  header.writeUInt8(HELLO_VERSION, 4);
  header.writeUInt16BE(json.length, 5);
  return Buffer.concat([header, json]);
}

reportCrashes();
const config = readConfig<ProberConfig>();
const from = { name: 'prober', instanceId: 'prober1', namespace: config.namespace };
const to = { name: config.target };
const probes: Array<[string, Buffer]> = [
  ['garbage', randomBytes(4096)],
  ['http request', Buffer.from(`GET / HTTP/1.1\r\nHost: ${config.host}\r\nUser-Agent: probe\r\n\r\n`)],
  ['tls client hello', Buffer.from('160301020001000200', 'hex')],
  ['ssh banner', Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n')],
  ['scanner (connect, close)', Buffer.alloc(0)],
  ['hello declaring 65535 bytes', Buffer.concat([HELLO_MAGIC, Buffer.from([HELLO_VERSION, 0xff, 0xff])])],
  ['hello, wrong version', Buffer.concat([HELLO_MAGIC, Buffer.from([99, 0, 2]), Buffer.from('{}')])],
  ['hello, bad JSON', Buffer.concat([HELLO_MAGIC, Buffer.from([HELLO_VERSION, 0, 3]), Buffer.from('{x}')])],
  [
    '5 KB instanceId with escapes',
    frame({ type: 'hello', from: { ...from, instanceId: `\u001b[2J${'A'.repeat(5000)}\u0007` }, to }),
  ],
  [
    'NUL in the namespace',
    frame({ type: 'hello', from: { ...from, namespace: `${config.namespace}\u0000` }, to }),
  ],
  ['zero-width caller name', frame({ type: 'hello', from: { ...from, name: 'pro\u200bber' }, to })],
  [
    'bidi override in the name asked for',
    frame({ type: 'hello', from, to: { name: `\u202e${config.target}` } }),
  ],
  ['non-NFC caller name', frame({ type: 'hello', from: { ...from, name: 'cafe\u0301' }, to })],
  ['valid hello (control)', encodeHello({ type: 'hello', from, to })],
];

async function probe(what: string, bytes: Buffer): Promise<void> {
  const socket = connect({ host: config.host, port: config.port });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const result = await new Promise<{ outcome: string; reason?: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ outcome: 'open' }), config.waitMs ?? 8000);
    readHello(socket).then(
      (answer) => {
        clearTimeout(timer);
        resolve(
          answer.type === 'refuse' ? { outcome: 'refused', reason: answer.reason } : { outcome: answer.type },
        );
      },
      () => {
        clearTimeout(timer);
        resolve({ outcome: 'closed' });
      },
    );
    if (bytes.length === 0) socket.end();
    else socket.write(bytes);
  });
  socket.destroy();
  emit({ t: 'probe', what, bytes: bytes.length, ...result });
}

for (const [what, bytes] of probes) await probe(what, bytes);
emit({ t: 'probes-done', count: probes.length });
process.exit(0);
