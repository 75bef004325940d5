import type { DependencyContainer } from 'tsyringe';
import type { ResolvedConfig } from '../config/resolve-config.js';
import type { Clock, EventBus } from '../contracts/services.js';
import { InternalError, isSidecarError } from '../errors.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import { Acceptor } from '../pipeline/acceptor.js';
import { DefaultDialer } from '../pipeline/dialer.js';
import { Streams } from '../pipeline/streams.js';
import type { WrapperChain } from '../pipeline/wrapper-chain.js';
import type { PeerInfo } from '../records.js';
import {
  ACCEPTOR,
  CLOCK,
  CONFIG,
  DIALER,
  EVENTS,
  LIFECYCLE,
  LOGGER,
  provide,
  resolve,
  SELF,
  STREAMS,
  WRAPPERS,
} from './tokens.js';

/** The system clock: `Date.now()`. */
export const systemClock: Clock = { now: () => Date.now() };

/** What a sidecar hands to its container before anything else is registered. */
export interface CoreParts {
  config: ResolvedConfig;
  self: PeerInfo;
  events: EventBus;
  wrappers: WrapperChain;
  lifecycle: (container: DependencyContainer) => Lifecycle;
}

/**
 * Registers core's own services in a sidecar's container. Each is made on first use, from what
 * the container holds then, so an app or a test can replace any of them (or one they depend on)
 * with `provide(app.container, TOKEN, ...)` before `start()`.
 */
export function registerCoreServices(container: DependencyContainer, parts: CoreParts): void {
  provide(container, CONFIG, { useValue: parts.config });
  provide(container, SELF, { useValue: parts.self });
  provide(container, EVENTS, { useValue: parts.events });
  provide(container, CLOCK, { useValue: systemClock });
  provide(container, LOGGER, {
    useFactory: (c) => {
      const events = resolve(c, EVENTS);
      return {
        warn: (err) =>
          events.emit('warning', isSidecarError(err) ? err : new InternalError(String(err), { cause: err })),
      };
    },
  });
  provide(container, WRAPPERS, { useValue: parts.wrappers });
  provide(container, STREAMS, {
    useFactory: (c) => new Streams(resolve(c, EVENTS), resolve(c, WRAPPERS)),
  });
  provide(container, LIFECYCLE, { useFactory: parts.lifecycle });
  provide(container, DIALER, { useFactory: (c) => new DefaultDialer(c) });
  provide(container, ACCEPTOR, { useFactory: (c) => new Acceptor(c) });
}
