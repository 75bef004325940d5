/**
 * A hostile process: keeps `sockets` connections open to one endpoint, each sending
 * - `mode: 'half-hello'`: the first 5 bytes of a hello, then nothing, or
 * - `mode: 'silent-hello'`: a complete, valid hello (it reads the welcome), then nothing;
 * - `mode: 'silent'`: nothing at all (on a TLS port: a handshake that never starts).
 * When the far side closes one, it opens another after `reconnectMs`, so the pressure never
 * drops. Prints `flooding` once every socket has been opened once, `sample` lines on
 * `{cmd:'sample'}`, and a `hostile` summary on `{cmd:'stop'}`.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { encodeHello, readHello } from '@sidecar/core/wire';
import { emit, onCommand, readConfig, reportCrashes, sleep } from './lib/io.js';

interface HostileConfig {
  host: string;
  port: number;
  /** The source address to bind (another loopback address plays another host). @default '127.0.0.1' */
  localAddress?: string;
  mode: 'half-hello' | 'silent-hello' | 'silent';
  /** Sockets kept open at once. @default 1100 */
  sockets?: number;
  /** Pause before replacing a socket the far side closed, in ms. @default 50 */
  reconnectMs?: number;
  /** For `silent-hello`: the peer name and namespace to greet. */
  target?: string;
  namespace?: string;
}

reportCrashes();
const config = readConfig<HostileConfig>();
const total = config.sockets ?? 1100;
const open = new Set<Socket>();
const counts = { opened: 0, closedByPeer: 0, connectErrors: 0, welcomed: 0, bytesSent: 0, heldMax: 0 };
let stopping = false;

function payload(): Buffer {
  if (config.mode === 'silent') return Buffer.alloc(0);
  if (config.mode === 'half-hello') return Buffer.from('SCAR\u0001', 'latin1');
  return encodeHello({
    type: 'hello',
    from: {
      name: 'hostile',
      instanceId: randomBytes(9).toString('base64url'),
      namespace: config.namespace ?? 'default',
    },
    to: { name: config.target ?? 'target' },
  });
}

function one(): Promise<void> {
  return new Promise((done) => {
    const socket = connect({
      host: config.host,
      port: config.port,
      localAddress: config.localAddress ?? '127.0.0.1',
    });
    let connected = false;
    socket.on('error', () => {});
    socket.once('connect', () => {
      connected = true;
      counts.opened++;
      open.add(socket);
      counts.heldMax = Math.max(counts.heldMax, open.size);
      const bytes = payload();
      counts.bytesSent += bytes.length;
      if (bytes.length > 0) socket.write(bytes);
      if (config.mode === 'silent-hello') {
        readHello(socket).then(
          (answer) => {
            if (answer.type === 'welcome') counts.welcomed++;
          },
          () => {},
        );
      }
      done();
    });
    socket.once('close', () => {
      open.delete(socket);
      if (connected) counts.closedByPeer += stopping ? 0 : 1;
      else counts.connectErrors++;
      if (!connected) done();
      if (!stopping) void sleep(config.reconnectMs ?? 50).then(() => (stopping ? undefined : one()));
    });
  });
}

// Open them in batches so the first pass finishes quickly without a burst of 1,100 SYNs at once.
for (let i = 0; i < total; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, total - i) }, () => one()));
}
emit({ t: 'flooding', ...counts, held: open.size });

onCommand((command) => {
  if (command.cmd === 'sample') {
    emit({ t: 'sample', ...counts, held: open.size });
    return;
  }
  if (command.cmd !== 'stop' || stopping) return;
  stopping = true;
  const held = open.size;
  for (const socket of open) socket.destroy();
  emit({ t: 'hostile', ...counts, held });
  process.exit(0);
});
