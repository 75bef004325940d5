import type { Duplex } from 'node:stream';
import type { IncomingConnection } from '../contracts/transport.js';
import {
  ConnectionClosedError,
  HelloRefusedError,
  isSidecarError,
  ProtocolError,
  type SidecarError,
  TimeoutError,
} from '../errors.js';
import type { InstanceRecord, PeerInfo } from '../records.js';
import {
  ACTIVATE,
  encodeHello,
  type HelloPeer,
  helloProblem,
  type RefuseReason,
  readHello,
  STANDBY_FEATURE,
} from '../wire/hello.js';

/**
 * The handshake: the first frames on every connection (format in wire/hello.ts). The caller
 * offers a `hello` naming itself and the instance it wants; the callee answers `welcome` or
 * `refuse`. Both halves live here, and so does the typing of the errors a connection fails with
 * afterwards.
 */

const REFUSE_LINGER_MS = 1000;
/** Longest refusal message sent back, in characters. */
const MAX_REFUSE_TEXT = 300;

/** What to fix, added to a refusal the far side explains in its own terms. */
const REFUSAL_HINTS: { [reason: string]: string } = {
  'wrong-namespace': 'give both sides the same namespace (the namespace option or SIDECAR_NAMESPACE)',
  'identity-mismatch':
    "this peer's name must be the one its TLS certificate names (sidecar://<namespace>/<name>): fix the name or issue it a certificate for that name",
};

function noop(): void {}

/** What the caller learns from a handshake. */
export interface Welcomed {
  peer: PeerInfo;
  /** The callee holds standby connections (it listed the feature in its welcome). */
  standby: boolean;
}

/** The caller's hello from `self` to the instance of `record` (a standby one when `standby`). */
export function encodeOffer(self: HelloPeer, record: InstanceRecord, standby: boolean): Buffer {
  const to = { name: record.name, instanceId: record.instanceId };
  return encodeHello(
    standby ? { type: 'hello', from: self, to, standby } : { type: 'hello', from: self, to },
  );
}

/**
 * The caller's half, on a dialled socket: sends `hello` (encodeOffer's frame for `record`), reads
 * the answer and checks it comes from that very instance. Resolves with the peer; on anything
 * else destroys the socket and rejects (HelloRefusedError, ProtocolError, ConnectionClosedError).
 * `where` names the endpoint in error messages.
 */
export async function offerHello(
  socket: Duplex,
  hello: Buffer,
  record: InstanceRecord,
  where: string,
): Promise<Welcomed> {
  try {
    socket.on('error', noop);
    socket.write(hello);
    const answer = await readHello(socket);
    if (answer.type === 'refuse') {
      const hint = REFUSAL_HINTS[answer.reason];
      throw new HelloRefusedError(
        answer.reason,
        `${where} refused the hello for "${record.name}": ${answer.message}${hint ? `; ${hint}` : ''}`,
      );
    }
    if (answer.type !== 'welcome') throw new ProtocolError(`expected a welcome, got a ${answer.type}`);
    const from = answer.from;
    if (
      from?.name !== record.name ||
      from.instanceId !== record.instanceId ||
      from.namespace !== record.namespace
    ) {
      throw new HelloRefusedError(
        'wrong-peer',
        `${where} is ${JSON.stringify(from?.name)}, not "${record.name}" (stale address)`,
      );
    }
    const peer = { name: record.name, instanceId: record.instanceId, namespace: record.namespace };
    const features = (answer as { features?: unknown }).features;
    return { peer, standby: Array.isArray(features) && features.includes(STANDBY_FEATURE) };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/**
 * Turns a standby connection into a stream: the caller's ACTIVATE byte. Written before any data,
 * so it always arrives first.
 */
export function activate(socket: Duplex): void {
  socket.write(ACTIVATE_FRAME);
}

const ACTIVATE_FRAME = Buffer.from([ACTIVATE]);

/**
 * The callee's wait on a standby connection: resolves when the caller's first byte after the
 * hello is ACTIVATE (consumed; what follows stays to be read), rejects with ProtocolError on any
 * other byte and with ConnectionClosedError when the caller closes it first (a standby it no
 * longer needs).
 */
export function awaitActivation(stream: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onEnd = () => done(new ConnectionClosedError('the caller closed a standby connection'));
    function onReadable() {
      const first = stream.read(1) as Buffer | null;
      if (first === null) return;
      if (first[0] !== ACTIVATE)
        return done(new ProtocolError('a standby connection sent data before ACTIVATE'));
      done();
    }
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    onReadable();
  });
}

function refuse(connection: IncomingConnection, reason: RefuseReason, message: string): never {
  const { stream } = connection;
  const text = message.length > MAX_REFUSE_TEXT ? `${message.slice(0, MAX_REFUSE_TEXT)}...` : message;
  stream.end(encodeHello({ type: 'refuse', reason, message: text }));
  setTimeout(() => stream.destroy(), REFUSE_LINGER_MS).unref();
  throw new HelloRefusedError(
    reason,
    `refused a connection from ${connection.remoteAddress ?? 'unknown'}: ${message}`,
  );
}

/**
 * The callee's half, on an accepted connection: reads the caller's hello within `timeout`,
 * checks it names this instance (and matches what the transport verified), and answers
 * `welcome` or `refuse`. Resolves with the caller; rejects (connection closed) on anything else.
 */
export async function acceptHello(
  connection: IncomingConnection,
  self: HelloPeer,
  timeout: number,
): Promise<PeerInfo & { standby: boolean }> {
  const { stream } = connection;
  // A plain timer (not an AbortSignal): cheaper on the accept path of every connection.
  const timer = setTimeout(
    () =>
      stream.destroy(
        new TimeoutError(`no hello from ${connection.remoteAddress ?? 'a caller'} within ${timeout} ms`),
      ),
    timeout,
  );
  timer.unref();
  try {
    const frame = await readHello(stream);
    const problem = helloProblem(frame);
    if (problem !== undefined || frame.type !== 'hello') {
      refuse(connection, 'bad-hello', problem ?? 'not a hello');
    }
    const from = frame.from;
    if (from.namespace !== self.namespace) {
      refuse(connection, 'wrong-namespace', `this is namespace "${self.namespace}", not "${from.namespace}"`);
    }
    const to = frame.to;
    if (to.name !== self.name || (to.instanceId !== undefined && to.instanceId !== self.instanceId)) {
      refuse(
        connection,
        'wrong-peer',
        `this is "${self.name}" (${self.instanceId}), not "${to.name}" (${to.instanceId ?? 'any'})`,
      );
    }
    const identity = connection.identity;
    if (identity && (identity.name !== from.name || identity.namespace !== from.namespace)) {
      refuse(
        connection,
        'identity-mismatch',
        `the caller's certificate names "${identity.name}" but its hello claims "${from.name}"`,
      );
    }
    stream.write(welcomeOf(self));
    return {
      name: from.name,
      instanceId: from.instanceId,
      namespace: from.namespace,
      standby: frame.standby === true,
    };
  } catch (err) {
    if (!stream.writableEnded) stream.destroy();
    if (isSidecarError(err)) throw err;
    throw err instanceof Error ? err : new ProtocolError(String(err));
  } finally {
    clearTimeout(timer);
  }
}

/** The welcome of each local identity, encoded once: it is the same for every caller. */
const welcomes = new WeakMap<HelloPeer, Buffer>();

function welcomeOf(self: HelloPeer): Buffer {
  let frame = welcomes.get(self);
  if (!frame) {
    frame = encodeHello({ type: 'welcome', from: self, features: [STANDBY_FEATURE] });
    welcomes.set(self, frame);
  }
  return frame;
}

const typed = new WeakSet<Duplex>();

/**
 * Makes the errors a connection fails with after the handshake SidecarErrors: a raw ECONNRESET or
 * EPIPE becomes a ConnectionClosedError naming the peer, with the original as `cause`. It uses
 * the stream's own `_destroy(error, callback)` step, where Node lets a stream choose the error it
 * emits; the data path is untouched and the socket itself stays the stream users get.
 */
export function typeConnectionErrors(connection: Duplex, peerName: string): void {
  if (typed.has(connection)) return;
  typed.add(connection);
  const own = connection as Duplex & {
    _destroy(error: Error | null, callback: (error?: Error | null) => void): void;
  };
  const destroy = own._destroy;
  own._destroy = function (this: Duplex, error, callback) {
    destroy.call(this, error, (result) => callback(result ? typedError(result, peerName) : result));
  };
}

function typedError(error: Error, peerName: string): SidecarError {
  if (isSidecarError(error)) return error;
  return new ConnectionClosedError(`the connection with "${peerName}" failed: ${error.message}`, {
    cause: error,
  });
}
