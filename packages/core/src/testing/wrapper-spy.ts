import type { Duplex } from 'node:stream';
import type { DependencyContainer } from 'tsyringe';
import type { WrapperPlugin } from '../contracts/plugin.js';
import type { StreamWrapper, WrapperContext } from '../contracts/wrapper.js';
import { WRAPPER } from '../tokens.js';

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
  // A plugin registers its wrappers in the container: wrap them on the way in.
  const register = (container: DependencyContainer, options: unknown) => {
    const proxy = new Proxy(container, {
      get(target, prop) {
        if (prop === 'register') {
          return (token: unknown, provider: { useValue?: StreamWrapper }, ...rest: unknown[]) =>
            (target.register as (...args: unknown[]) => unknown)(
              token,
              token === WRAPPER && typeof provider?.useValue === 'function'
                ? { useValue: wrap(provider.useValue) }
                : provider,
              ...rest,
            );
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    subject.register(proxy, options as never);
  };
  return Object.assign(Object.create(subject) as WrapperPlugin, { register });
}
