import type { Socket } from 'node:net';
import { RegistryUnavailableError, type SidecarError } from '@sidecar/core';
import pg from 'pg';
import { quoteIdent } from '../options.js';

/** First delay before re-establishing a lost LISTEN connection, in ms. */
export const LISTEN_RETRY_MIN = 100;
/** Largest delay between attempts to re-establish a lost LISTEN connection, in ms. */
export const LISTEN_RETRY_MAX = 5000;

/** What the listener reports to its owner. */
export interface ListenerHooks {
  /** A notification payload arrived on the channel. */
  payload(text: string): void;
  /** The connection was lost and LISTEN is in effect again (changes in between may be missed). */
  reconnected(): void;
  /** A non-fatal problem. */
  warn(error: SidecarError): void;
}

/**
 * A dedicated connection that LISTENs on one channel. When the connection is lost (a server
 * restart, a network failure), it connects a fresh client and LISTENs again, with exponential
 * backoff, until stopped. Every client error is handled: nothing escapes as an unhandled error.
 */
export class PgListener {
  readonly #config: pg.ClientConfig;
  readonly #channel: string;
  readonly #hooks: ListenerHooks;
  #client: pg.Client | undefined;
  #stopped = true;
  #retryTimer: NodeJS.Timeout | undefined;
  #delay = LISTEN_RETRY_MIN;
  #warnedOutage = false;

  constructor(config: pg.ClientConfig, channel: string, hooks: ListenerHooks) {
    this.#config = config;
    this.#channel = channel;
    this.#hooks = hooks;
  }

  /** Connects and LISTENs; rejects if the first attempt fails. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    try {
      await this.#connect();
    } catch (err) {
      this.#stopped = true;
      throw err;
    }
  }

  /** Stops listening and closes the connection; never throws. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => {});
  }

  /** The connection's local address, if connected. */
  localAddress(): string | undefined {
    return this.#socket()?.localAddress;
  }

  /**
   * Drops the connection at once (its socket is destroyed: a dead path would never deliver a
   * goodbye); it is then made again as after any loss.
   */
  reset(): void {
    this.#delay = LISTEN_RETRY_MIN;
    this.#socket()?.destroy();
  }

  #socket(): Socket | undefined {
    return (this.#client as unknown as { connection?: { stream?: Socket } } | undefined)?.connection?.stream;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config);
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      if (!this.#stopped) this.#lost(err);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel === this.#channel && msg.payload !== undefined) this.#hooks.payload(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
    } catch (err) {
      lost = true;
      client.removeAllListeners('notification');
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
  }

  #lost(err: Error | undefined): void {
    if (!this.#warnedOutage) {
      this.#warnedOutage = true;
      const detail = err ? `: ${err.message}` : '';
      this.#hooks.warn(
        new RegistryUnavailableError(`lost the PostgreSQL LISTEN connection${detail}; reconnecting`, {
          cause: err,
        }),
      );
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped || this.#retryTimer) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, LISTEN_RETRY_MAX);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#stopped) return;
      this.#connect().then(
        () => {
          if (this.#stopped) return;
          this.#delay = LISTEN_RETRY_MIN;
          this.#warnedOutage = false;
          this.#hooks.reconnected();
        },
        () => this.#schedule(),
      );
    }, delay);
    this.#retryTimer.unref();
  }
}
