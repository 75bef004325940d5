/**
 * A third-party plugin that observes streams through the sidecar's event bus: every stream that
 * opens, either way, is logged with its peer, direction and transport, and again when it closes
 * with its byte counts and duration. Nothing here is special to core: the plugin resolves core's
 * services (EVENTS, CLOCK, CONFIG) from the sidecar's container, and registers a service of its
 * own (STREAM_LOG) that the app or another plugin can resolve in turn.
 */
import type { Duplex } from 'node:stream';
import {
  CLOCK,
  CONFIG,
  EVENTS,
  provide,
  resolve,
  type ServicePlugin,
  type StreamInfo,
  type Token,
} from '@sidecar/core';

/** One logged stream. */
export interface StreamLogEntry extends StreamInfo {
  /** The local peer's name. */
  local: string;
  /** When it opened, by the sidecar's clock (ms since the epoch). */
  openedAt: number;
  /** When it closed; undefined while open. */
  closedAt?: number;
  /** Bytes read from it and written to it, counted when it closed. */
  bytesRead?: number;
  bytesWritten?: number;
}

/** The plugin's own service: the entries so far, and a way to follow new ones. */
export interface StreamLog {
  readonly entries: readonly StreamLogEntry[];
  onEntry(fn: (entry: StreamLogEntry, event: 'open' | 'close') => void): void;
}

/** The token other plugins and the app resolve the log by. */
export const STREAM_LOG = Symbol.for('example.StreamLog') as Token<StreamLog>;

/** Options of `streamLog()`. */
export interface StreamLogOptions {
  /** Where each line goes. @default console.log */
  print?: (line: string) => void;
}

/**
 * The plugin: `createSidecar({ name, plugins: [streamLog()] })`.
 *
 * @example
 * ```ts
 * const app = createSidecar({ name: 'billing', plugins: [streamLog()] });
 * ```
 */
export function streamLog(options: StreamLogOptions = {}): ServicePlugin {
  const print = options.print ?? console.log;
  return {
    kind: 'service',
    name: 'stream-log',
    register(container) {
      // A factory: made when first resolved, from what the container holds then.
      provide(container, STREAM_LOG, { useFactory: () => createLog() });
    },
    install(container) {
      const log = resolve(container, STREAM_LOG) as StreamLog & { add: Add };
      const clock = resolve(container, CLOCK);
      const local = resolve(container, CONFIG).name;
      resolve(container, EVENTS).on('open', (stream: Duplex, info: StreamInfo) => {
        const entry: StreamLogEntry = { ...info, local, openedAt: clock.now() };
        log.add(entry, 'open');
        print(`${local} ${info.direction} ${info.peer.name} over ${info.transport ?? '?'}: open`);
        stream.once('close', () => {
          entry.closedAt = clock.now();
          const socket = stream as Duplex & { bytesRead?: number; bytesWritten?: number };
          if (socket.bytesRead !== undefined) entry.bytesRead = socket.bytesRead;
          if (socket.bytesWritten !== undefined) entry.bytesWritten = socket.bytesWritten;
          log.add(entry, 'close');
          print(
            `${local} ${info.direction} ${info.peer.name}: closed after ${entry.closedAt - entry.openedAt} ms`,
          );
        });
      });
    },
  };
}

type Add = (entry: StreamLogEntry, event: 'open' | 'close') => void;

function createLog(): StreamLog & { add: Add } {
  const entries: StreamLogEntry[] = [];
  const followers: Add[] = [];
  return {
    entries,
    onEntry: (fn) => void followers.push(fn),
    add(entry, event) {
      if (event === 'open') entries.push(entry);
      for (const fn of followers) fn(entry, event);
    },
  };
}
