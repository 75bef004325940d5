/** Messages between bench/scale.ts and its worker processes (bench/scale/worker.ts). */

/** Where the workers' peers find the registry. */
export type ScaleTarget =
  | { kind: 'sqlite'; url: `sqlite:${string}` }
  | { kind: 'redis'; url: string }
  | { kind: 'cluster'; seeds: Array<{ host: string; port: number }> };

/** What one worker is asked to run. */
export interface WorkerPlan {
  target: ScaleTarget;
  namespace: string;
  /** Index of its first peer (names are `peer-<index>`). */
  first: number;
  count: number;
  /** Lifetime of each record, in ms (a heartbeat every third of it). */
  ttl: number;
  /** Peers started at once in the worker. */
  concurrency: number;
  /** Peer i listens on portBase + i (0: a port the kernel picks, bind(0)). */
  portBase: number;
}

/** Parent -> worker. */
export type ToWorker =
  | { kind: 'start' }
  | { kind: 'measure' }
  | { kind: 'expect'; instanceId: string }
  | { kind: 'report'; instanceId: string }
  | { kind: 'stop' };

/** Worker -> parent. */
export type FromWorker =
  | { kind: 'loaded'; rss: number }
  | { kind: 'started'; ms: number }
  | { kind: 'failed'; error: string; started: number }
  | { kind: 'measured'; rss: number; heapUsed: number }
  | { kind: 'expecting' }
  | { kind: 'arrivals'; instanceId: string; times: number[] };

/** Wall-clock time in ms with sub-ms precision, comparable across processes of one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
