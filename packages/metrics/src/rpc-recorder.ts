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
 * scrape time).
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

  /** Records one finished call (what core's `observeRpcCalls` reports, without the owner). */
  record(side: 'client' | 'server', method: string, seconds: number, error: string | undefined): void {
    if (error !== undefined) this.#failed(side, method, seconds, error);
    else (side === 'client' ? this.#client : this.#server).record(method, seconds);
  }

  #failed(side: 'client' | 'server', method: string, seconds: number, error: string): void {
    const histogram = side === 'client' ? this.clientDuration : this.serverDuration;
    histogram.record(seconds, { 'rpc.system': 'pillion', 'rpc.method': method, 'error.type': error });
    this.errors.add(1, { side, 'rpc.method': method, 'error.type': error });
  }
}
