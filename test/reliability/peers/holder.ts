/**
 * A holder process: keeps work open on a name so that a fault finds it in flight.
 * - `echoStreams` long echo streams to `target`: a chunk every `tickMs`, each echoed byte checked;
 * - `rpcStreams` pillion streams to `rpcTarget`, each with `slow(slowMs)` calls always pending.
 * Prints `holding` once every stream knows its instance, `hold-end` for every stream that fails
 * (or, after `{cmd:'stop'}`, ends cleanly), and `rpc-fail` for every pending call that fails.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createSidecar, type Sidecar } from '@sidecar/core';
import { emit, errorInfo, onCommand, readConfig, reportCrashes, sleep } from './lib/io.js';
import { type PeerBase, request, sidecarConfig } from './lib/serve.js';
import { type Identity, readLine } from './lib/wire.js';

interface HolderConfig extends PeerBase {
  name: string;
  target: string;
  rpcTarget: string;
  /** Long echo streams. @default 0 */
  echoStreams?: number;
  /** Interval between two chunks on an echo stream, in ms. @default 100 */
  tickMs?: number;
  /** Pillion streams with slow calls pending. @default 0 */
  rpcStreams?: number;
  /** How long each slow call takes on the server, in ms. @default 1000 */
  slowMs?: number;
  /** Slow calls kept pending per pillion stream. @default 2 */
  pending?: number;
}

/** The far side ended an echo stream first: how a peer's death looks on a plain stream (a FIN). */
class PrematureEndError extends Error {
  override name = 'PrematureEndError';
}

type RpcStream = Duplex & { call(method: string, ...args: unknown[]): Promise<unknown> };

reportCrashes();
const config = readConfig<HolderConfig>();
const raw = createSidecar({ ...sidecarConfig(config, config.name), register: false }) as Sidecar;
// pillion loads only when RPC streams are asked for.
const rpc = config.rpcStreams
  ? createSidecar({
      ...sidecarConfig(config, `${config.name}-rpc`),
      register: false,
      wrappers: [(await import('@sidecar/wrapper-pillion')).pillion()],
    })
  : undefined;
await Promise.all([raw.start(), rpc?.start()]);
let stopping = false;
const finished: Array<Promise<void>> = [];

async function holdEcho(index: number): Promise<void> {
  const stream = raw.to(config.target);
  stream.on('error', () => {});
  request(stream, { op: 'echo', target: config.target, id: `${config.name}-echo-${index}` });
  let from: Identity | undefined;
  let sent = Buffer.alloc(0);
  let verified = 0;
  try {
    const { line, rest } = await readLine(stream);
    from = line as Identity;
    emit({ t: 'holding', kind: 'echo', index, from });
    const check = (chunk: Buffer) => {
      if (!chunk.equals(sent.subarray(verified, verified + chunk.length))) throw new Error('echo mismatch');
      verified += chunk.length;
    };
    let ending = false;
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        try {
          check(chunk);
        } catch (err) {
          stream.destroy(err as Error);
        }
      });
      stream.once('end', () => {
        if (!ending)
          reject(new PrematureEndError('the peer ended the stream while this side was still sending'));
        else if (verified !== sent.length) reject(new Error('echo ended short'));
        else resolve();
      });
      stream.once('error', reject);
      stream.once('close', () => reject(new Error('closed without an end or an error')));
    });
    done.catch(() => {}); // awaited below, after the loop; a failure must not count as unhandled meanwhile

    sent = Buffer.concat([sent, rest]);
    check(rest);
    stream.resume();
    while (!stopping && !stream.destroyed) {
      const chunk = randomBytes(1024);
      sent = Buffer.concat([sent, chunk]);
      stream.write(chunk);
      await sleep(config.tickMs ?? 100);
    }
    ending = true;
    stream.end();
    await done;
    emit({ t: 'hold-end', kind: 'echo', index, ok: true, from, sent: sent.length, verified });
  } catch (err) {
    emit({
      t: 'hold-end',
      kind: 'echo',
      index,
      ok: false,
      from,
      sent: sent.length,
      verified,
      error: errorInfo(err),
    });
  }
}

async function holdRpc(index: number): Promise<void> {
  if (!rpc) return;
  const stream = rpc.to(config.rpcTarget) as unknown as RpcStream;
  stream.on('error', () => {});
  let from: Identity | undefined;
  try {
    from = (await stream.call('whoami', `${config.name}-rpc-${index}`)) as Identity;
  } catch (err) {
    emit({ t: 'hold-end', kind: 'rpc', index, ok: false, error: errorInfo(err) });
    return;
  }
  emit({ t: 'holding', kind: 'rpc', index, from });
  let calls = 0;
  let failures = 0;
  const worker = async (lane: number) => {
    while (!stopping && !stream.destroyed) {
      const id = `${config.name}-rpc-${index}-${lane}-${calls++}`;
      const start = Date.now();
      try {
        const reply = (await stream.call('slow', config.slowMs ?? 1000, id)) as Identity;
        if (reply.instanceId !== from?.instanceId || reply.id !== id)
          emit({ t: 'rpc-wrong', index, id, reply, from });
      } catch (err) {
        failures++;
        emit({ t: 'rpc-fail', index, id, start, instanceId: from?.instanceId, error: errorInfo(err) });
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: config.pending ?? 2 }, (_, lane) => worker(lane)));
  stream.end();
  emit({ t: 'hold-end', kind: 'rpc', index, ok: failures === 0, from, calls });
}

for (let i = 0; i < (config.echoStreams ?? 0); i++) finished.push(holdEcho(i));
for (let i = 0; i < (config.rpcStreams ?? 0); i++) finished.push(holdRpc(i));
emit({ t: 'ready', name: config.name, pid: process.pid });

onCommand(async (command) => {
  if (command.cmd !== 'stop' || stopping) return;
  stopping = true;
  await Promise.all(finished);
  await Promise.all([raw.stop(), rpc?.stop()]);
  emit({ t: 'stopped' });
  process.exit(0);
});
