import type { RpcCallMessage } from '@sidecar/core/diagnostics';
import type { BoundHistogram, CounterLike, HistogramLike } from './instruments.js';

/** The bound histograms of one side, by method, with the last method used kept at hand. */
class SideRecorder {
  readonly #byMethod = new Map<string, BoundHistogram>();
  #lastMethod = '';
  #last: BoundHistogram | undefined;

  constructor(readonly histogram: HistogramLike) {}

  /** Records a successful call of `method` that took `seconds`. */
  record(method: string, seconds: number): void {
    let bound = this.#last;
    if (bound === undefined || method !== this.#lastMethod) {
      bound = this.#byMethod.get(method);
      if (bound === undefined) {
        bound = this.histogram.bind({ 'rpc.system': 'pillion', 'rpc.method': method, 'error.type': '' });
        this.#byMethod.set(method, bound);
      }
      this.#last = bound;
      this.#lastMethod = method;
    }
    bound.record(seconds);
  }
}

/**
 * Records finished RPC calls (`rpc.client.call.duration`, `rpc.server.call.duration`,
 * `sidecar.rpc.errors`). The hottest path of the metrics, every call on both sides: a successful
 * call is one comparison with the side's last method (else a map lookup) and one histogram
 * observation counted in place (a bucket count, the sum and the count; prom-client reads them at
 * scrape time). The message is core's reused one: everything is read from it at once.
 */
export class RpcRecorder {
  readonly #client: SideRecorder;
  readonly #server: SideRecorder;

  constructor(
    readonly clientDuration: HistogramLike,
    readonly serverDuration: HistogramLike,
    readonly errors: CounterLike,
  ) {
    this.#client = new SideRecorder(clientDuration);
    this.#server = new SideRecorder(serverDuration);
  }

  /** Records one call (a message of DIAGNOSTICS.rpcCall). */
  readonly record = (m: RpcCallMessage): void => {
    if (m.error !== undefined) this.#failed(m);
    else (m.side === 'client' ? this.#client : this.#server).record(m.method, m.duration);
  };

  #failed(m: RpcCallMessage): void {
    const histogram = m.side === 'client' ? this.clientDuration : this.serverDuration;
    const error = m.error as string;
    histogram.record(m.duration, { 'rpc.system': 'pillion', 'rpc.method': m.method, 'error.type': error });
    this.errors.add(1, { side: m.side, 'rpc.method': m.method, 'error.type': error });
  }
}
