import type { Duplex } from 'node:stream';
import type { StreamWrapper, WrapperContext } from '../contracts/wrapper.js';
import { NotStartedError } from '../errors.js';
import { LazyStream } from './lazy-stream.js';

/** What the chain knows of a stream before wrapping it (`takeConnection` is added per wrapper). */
export type StreamContext = Omit<WrapperContext, 'takeConnection'>;

/**
 * The wrappers every stream goes through: one slot per `config.wrappers` entry (a slot given by
 * name is filled when its plugin loads, in `start()`), then those added with `addStreamWrapper`.
 */
export class WrapperChain {
  readonly #slots: Array<StreamWrapper | string>;
  readonly #added: StreamWrapper[] = [];
  #chain: StreamWrapper[] | undefined;

  /** `slots`: a wrapper, or the name of a wrapper plugin still to load, per config entry. */
  constructor(slots: ReadonlyArray<StreamWrapper | string>) {
    this.#slots = [...slots];
  }

  /** Fills slot `index` (a name until now) with the wrapper of the plugin loaded for it. */
  fill(index: number, wrapper: StreamWrapper): void {
    this.#slots[index] = wrapper;
    this.#chain = undefined;
  }

  /** Appends a wrapper after the configured ones. */
  add(wrapper: StreamWrapper): void {
    this.#added.push(wrapper);
    this.#chain = undefined;
  }

  /**
   * Runs `stream` through every wrapper, in order. The first wrapper may take the connection
   * itself (`context.takeConnection()`); the others get `undefined` from it. A wrapper that
   * throws destroys the stream with its error and the error is rethrown.
   */
  wrap(stream: Duplex, context: StreamContext): Duplex {
    const chain = this.#current(stream);
    let wrapped = stream;
    try {
      for (let i = 0; i < chain.length; i++) {
        // Each wrapper's context inherits the shared one, so `peer` set on connect shows through.
        const own = Object.create(context) as WrapperContext;
        own.takeConnection = i === 0 ? handOver(stream) : none;
        wrapped = (chain[i] as StreamWrapper)(wrapped, own);
      }
    } catch (err) {
      stream.destroy(err as Error);
      throw err;
    }
    return wrapped;
  }

  #current(stream: Duplex): StreamWrapper[] {
    if (this.#chain) return this.#chain;
    if (this.#slots.some((slot) => typeof slot === 'string')) {
      stream.destroy();
      throw new NotStartedError(
        'wrappers given by name load in start(): call await start() before opening streams',
      );
    }
    this.#chain = [...(this.#slots as StreamWrapper[]), ...this.#added];
    return this.#chain;
  }
}

function none(): Promise<undefined> {
  return Promise.resolve(undefined);
}

/** `takeConnection` of the first wrapper: the socket itself, once, when connected. */
function handOver(stream: Duplex): () => Promise<Duplex | undefined> {
  let taken = false;
  return async () => {
    if (taken) return undefined;
    taken = true;
    if (!(stream instanceof LazyStream)) return stream;
    await stream.connected;
    return stream.detach();
  };
}
