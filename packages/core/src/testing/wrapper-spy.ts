import type { Duplex } from 'node:stream';
import type { DependencyContainer } from 'tsyringe';
import type { WrapperPlugin } from '../contracts/plugin.js';
import type { StreamWrapper, WrapperContext } from '../contracts/wrapper.js';

/** A spy on the wrapper under test, for the wrapper compliance suite. */

/** What the suite saw of one application of the wrapper under test. */
export interface Seen {
  context: WrapperContext;
  output: Duplex;
  /** What each takeConnection() call resolved with, in order. */
  taken: Array<Duplex | undefined>;
  take(): Promise<Duplex | undefined>;
}

/** Records every application of `wrapper`, with a takeConnection that logs what it hands out. */
export function spied(subject: StreamWrapper | WrapperPlugin, seen: Seen[]): StreamWrapper | WrapperPlugin {
  const wrap =
    (wrapper: StreamWrapper): StreamWrapper =>
    (stream, context) => {
      const entry = { context, taken: [] } as unknown as Seen;
      entry.take = async () => {
        const socket = await context.takeConnection();
        entry.taken.push(socket);
        return socket;
      };
      const own = Object.assign(Object.create(context) as WrapperContext, { takeConnection: entry.take });
      seen.push(entry);
      entry.output = wrapper(stream, own);
      return entry.output;
    };
  if (typeof subject === 'function') return wrap(subject);
  // A plugin makes its wrapper in create(container): wrap it on the way out.
  const create = (container: DependencyContainer) => wrap(subject.create(container));
  return Object.assign(Object.create(subject) as WrapperPlugin, { create });
}
