import type { Duplex } from 'node:stream';
import type { DependencyContainer } from 'tsyringe';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { CONFIG, EVENTS, LOGGER, resolve, SELF, STREAMS } from '../container/tokens.js';
import type { EventBus, Logger } from '../contracts/services.js';
import type { IncomingConnection } from '../contracts/transport.js';
import { publishIncomingFailure, publishStreamOpen } from '../diagnostics.js';
import { isSidecarError } from '../errors.js';
import type { PeerInfo } from '../records.js';
import { Admission, type Admitted } from './admission.js';
import { acceptHello, awaitActivation, typeConnectionErrors } from './handshake.js';
import type { Streams } from './streams.js';

function noop(): void {}

/**
 * The incoming path: a transport's listener hands over a connection -> admission (connection
 * limits) -> handshake (the callee's half) -> wrap -> `stream` event and dispatch (Streams).
 */
export class Acceptor {
  /** While false, connections are closed at once (the sidecar is stopped). */
  accepting = false;
  readonly #config: ResolvedConfig;
  readonly #self: PeerInfo;
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly #streams: Streams;
  readonly #admission: Admission;
  readonly #standby = new Set<Duplex>();

  constructor(container: DependencyContainer) {
    this.#config = resolve(container, CONFIG);
    this.#self = resolve(container, SELF);
    this.#events = resolve(container, EVENTS);
    this.#logger = resolve(container, LOGGER);
    this.#streams = resolve(container, STREAMS);
    this.#admission = new Admission(this.#config, (err) => this.#logger.warn(err));
  }

  /** Serves one connection accepted by the transport named `transport`; never throws (failures are warnings). */
  async accept(connection: IncomingConnection, transport?: string): Promise<void> {
    const { stream: socket } = connection;
    socket.on('error', noop);
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    const admitted = this.#admission.admit(connection);
    if (!admitted) return;
    this.#streams.track(socket);
    const accepted = await acceptHello(connection, this.#self, this.#config.helloTimeout).catch(
      (err: unknown) => {
        publishIncomingFailure(this.#self.instanceId, err);
        // A connection evicted to make room was reported already; its hello fails as it closes.
        if (!admitted.evicted) this.#logger.warn(err);
        return undefined;
      },
    );
    if (!accepted || socket.destroyed) return;
    this.#admission.established(admitted);
    const { standby, ...peer } = accepted;
    if (standby && !(await this.#standingBy(socket, admitted))) return;
    typeConnectionErrors(socket, peer.name);
    publishStreamOpen(this.#self.instanceId, socket, 'incoming', transport);
    const context = {
      direction: 'incoming' as const,
      local: this.#self,
      remoteName: peer.name,
      peer,
      connected: Promise.resolve(peer),
    };
    let stream: ReturnType<Streams['deliver']>;
    try {
      stream = this.#streams.deliver(socket, context, () => transport);
    } catch (err) {
      this.#logger.warn(err);
      return;
    }
    this.#events.emit('stream', stream, peer);
  }

  /** Stops accepting and closes the standby connections (the sidecar stops). */
  stop(): void {
    this.accepting = false;
    for (const socket of this.#standby) socket.destroy();
    this.#standby.clear();
  }

  /**
   * Holds a standby connection until the caller uses it: it is no stream yet (a drain does not
   * wait for it), but stop() closes it. Resolves false when it ends unused (normal) or breaks
   * the protocol (a warning).
   */
  async #standingBy(socket: Duplex, admitted: Admitted): Promise<boolean> {
    this.#streams.untrack(socket);
    this.#standby.add(socket);
    this.#admission.standby(admitted, true);
    try {
      await awaitActivation(socket);
      this.#admission.standby(admitted, false);
      this.#streams.track(socket);
      return true;
    } catch (err) {
      socket.destroy();
      if (isSidecarError(err) && err.code === 'SIDECAR_ERR_PROTOCOL') this.#logger.warn(err);
      return false;
    } finally {
      this.#standby.delete(socket);
    }
  }
}
