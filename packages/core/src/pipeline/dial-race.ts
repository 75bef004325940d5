import type { Duplex } from 'node:stream';
import type { Transport } from '../contracts/transport.js';
import { AbortError, DialError, isSidecarError, TimeoutError } from '../errors.js';
import type { Endpoint } from '../records.js';
import { onAbort } from '../util/abort.js';

/** One endpoint to dial, through the transport that speaks it. */
export interface Candidate {
  transport: Transport;
  endpoint: Endpoint;
}

/** A dial in flight or done: its socket once connected, and how to end it. */
export interface Attempt {
  readonly candidate: Candidate;
  /** Where, for messages: `10.0.0.5:7000 (tcp)`. */
  readonly where: string;
  readonly signal: AbortSignal;
  /** Ends the attempt: aborts the dial, or destroys the socket with `reason`. */
  stop(reason: Error): void;
  /** Clears the attempt's timer and the link to the caller's signal. */
  clear(): void;
  socket?: Duplex;
}

/** Error codes of a dial that cannot succeed on a retry within one connect. */
const HOPELESS = new Set(['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);
const NO_ROUTE = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);

function errnoOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('SIDECAR_')) return code;
  }
  return undefined;
}

/**
 * True when dialling the same endpoint again within one connect cannot help: nothing listens
 * there (ECONNREFUSED), no route to that network from this host (ENETUNREACH, EHOSTUNREACH),
 * or a refusal a retry cannot cure (any non-retryable error, a hello refusal).
 */
export function isHopeless(err: unknown): boolean {
  if (isSidecarError(err) && (!err.retryable || err.code === 'SIDECAR_ERR_HELLO_REFUSED')) return true;
  const code = errnoOf(err);
  return code !== undefined && HOPELESS.has(code);
}

/** Rewords a no-route failure so that the message says what it likely means. */
export function explain(err: Error, where: string): Error {
  const code = errnoOf(err);
  if (code && NO_ROUTE.has(code)) {
    return new DialError(
      `cannot connect to ${where}: ${code}, this host has no route to that network (the peer may advertise an address of a network this host is not on: check its advertiseHost / advertiseNetworks)`,
      { cause: err },
    );
  }
  if (code === 'ECONNREFUSED' && isSidecarError(err)) {
    return new DialError(
      `${err.message} (nothing listens there: the peer may have stopped or crashed; its record goes when its ttl runs out)`,
      { cause: err },
    );
  }
  return err;
}

/** Starts one dial with its own timer (`timeout` ms, which also bounds the hello that follows). */
export function startAttempt(
  candidate: Candidate,
  expect: { name: string; namespace: string },
  timeout: number,
  parent: AbortSignal | undefined,
): { attempt: Attempt; dialed: Promise<Duplex> } {
  const { endpoint, transport } = candidate;
  const where = `${endpoint.host}:${endpoint.port} (${endpoint.transport})`;
  const controller = new AbortController();
  let socket: Duplex | undefined;
  const stop = (reason: Error) => {
    controller.abort(reason);
    socket?.destroy(reason);
  };
  const timer = setTimeout(
    () => stop(new TimeoutError(`dialing "${expect.name}" at ${where} timed out after ${timeout} ms`)),
    timeout,
  );
  const release = onAbort(parent, () => stop(new AbortError(parent?.reason)));
  const attempt: Attempt = {
    candidate,
    where,
    signal: controller.signal,
    stop,
    clear: () => {
      clearTimeout(timer);
      release();
    },
  };
  const dialed = transport.dial(endpoint, { signal: controller.signal, expect }).then(
    (s) => {
      socket = s;
      attempt.socket = s;
      if (controller.signal.aborted) {
        s.destroy();
        throw controller.signal.reason;
      }
      return s;
    },
    (err: unknown) => {
      throw controller.signal.aborted ? controller.signal.reason : explain(err as Error, where);
    },
  );
  return { attempt, dialed };
}

/**
 * Dials `candidates` in a staggered race in the spirit of Happy Eyeballs (RFC 8305): the first
 * starts at once, the next when the previous fails or `stagger` ms later, whichever comes first;
 * the first to connect wins and the others are aborted. Chosen over strictly one-at-a-time with a
 * short budget because a slow but good path (a loaded peer, a TLS handshake) is never cut short,
 * while a dead or unroutable address costs at most `stagger` ms and usually nothing (it fails at
 * once). Only the transport dial is raced; the hello runs on the winner alone, so the callee never
 * sees a stream it would have to drop. Resolves with the winner (its timer still running), or
 * undefined once every candidate failed (each failure reported through `onFailure`).
 */
export function raceDials(
  candidates: readonly Candidate[],
  options: {
    expect: { name: string; namespace: string };
    timeout: () => number;
    stagger: number;
    signal: AbortSignal | undefined;
    onFailure: (candidate: Candidate, err: Error) => void;
  },
): Promise<Attempt | undefined> {
  return new Promise((resolve) => {
    let next = 0;
    let running = 0;
    let settled = false;
    let staggerTimer: NodeJS.Timeout | undefined;
    const live = new Set<Attempt>();
    const finish = (winner: Attempt | undefined) => {
      settled = true;
      clearTimeout(staggerTimer);
      for (const other of live) {
        if (other === winner) continue;
        other.stop(new AbortError('another endpoint answered first'));
        other.clear();
      }
      resolve(winner);
    };
    const launch = () => {
      clearTimeout(staggerTimer);
      if (settled) return;
      const candidate = candidates[next++];
      if (!candidate) return;
      running++;
      const { attempt, dialed } = startAttempt(candidate, options.expect, options.timeout(), options.signal);
      live.add(attempt);
      dialed.then(
        () => {
          running--;
          if (settled) {
            attempt.stop(new AbortError('another endpoint answered first'));
            attempt.clear();
            return;
          }
          finish(attempt);
        },
        (err: unknown) => {
          running--;
          live.delete(attempt);
          attempt.clear();
          if (settled) return;
          options.onFailure(candidate, err as Error);
          if (options.signal?.aborted) return finish(undefined);
          if (next < candidates.length) launch();
          else if (running === 0) finish(undefined);
        },
      );
      if (next < candidates.length) staggerTimer = setTimeout(launch, options.stagger);
    };
    launch();
  });
}
