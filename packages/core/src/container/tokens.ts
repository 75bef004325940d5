import 'reflect-metadata'; // tsyringe needs it loaded first
import { type DependencyContainer, instanceCachingFactory } from 'tsyringe';
import type { ResolvedConfig } from '../config/resolve-config.js';
import type { Registry } from '../contracts/registry.js';
import type { Clock, EventBus, Logger } from '../contracts/services.js';
import type { Transport } from '../contracts/transport.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import type { Acceptor } from '../pipeline/acceptor.js';
import type { Dialer } from '../pipeline/dialer.js';
import type { Streams } from '../pipeline/streams.js';
import type { WrapperChain } from '../pipeline/wrapper-chain.js';
import type { PeerInfo } from '../records.js';

declare const tokenType: unique symbol;

/** A DI token that remembers the type of what it resolves to. */
export type Token<T> = symbol & { readonly [tokenType]?: T };

function token<T>(name: string): Token<T> {
  return Symbol.for(`sidecar.${name}`) as Token<T>;
}

// ---- what the sidecar is ----
/** The resolved config: every default applied, frozen. */
export const CONFIG = token<ResolvedConfig>('Config');
/** This peer: name, instance id, namespace. */
export const SELF = token<PeerInfo>('Self');
/** The event bus: the sidecar's typed events (`open`, `stream`, `join`, `warning`...). */
export const EVENTS = token<EventBus>('Events');
/** Where non-fatal problems go (default: `warning` events). */
export const LOGGER = token<Logger>('Logger');
/** The time source of deadlines and timeouts (default: `Date.now`). */
export const CLOCK = token<Clock>('Clock');

// ---- what plugins provide ----
/** The registry in use (exactly one per sidecar; made by the registry plugin). */
export const REGISTRY = token<Registry>('Registry');
/** The transports in use, in preference order (made by the transport plugins). */
export const TRANSPORTS = token<readonly Transport[]>('Transports');

// ---- the pipeline (docs/architecture.md) ----
/** The wrapper chain every stream goes through, in config order then `addStreamWrapper` order. */
export const WRAPPERS = token<WrapperChain>('Wrappers');
/** Opens streams by name or record: lookup, dial, handshake, wrap, dispatch. */
export const DIALER = token<Dialer>('Dialer');
/** Serves accepted connections: admission, handshake, wrap, dispatch. */
export const ACCEPTOR = token<Acceptor>('Acceptor');
/** The open streams: tracking, wrapping, dispatch to groups, drain. */
export const STREAMS = token<Streams>('Streams');
/** Start, stop, heartbeat and this peer's record. */
export const LIFECYCLE = token<Lifecycle>('Lifecycle');

/** How a token gets its value. A factory runs once per container (its result is cached). */
export type Provider<T> = { useValue: T } | { useFactory: (container: DependencyContainer) => T };

/**
 * Registers a provider under a typed token. Registering again replaces it (the last one wins),
 * which is how an app or a test swaps one of core's services before `start()`.
 *
 * @example
 * ```ts
 * provide(app.container, CLOCK, { useValue: { now: () => fakeNow } });
 * ```
 */
export function provide<T>(container: DependencyContainer, token: Token<T>, provider: Provider<T>): void {
  if ('useValue' in provider) container.register(token, { useValue: provider.useValue });
  else container.register(token, { useFactory: instanceCachingFactory((c) => provider.useFactory(c)) });
}

/**
 * Resolves a typed token (the provider registered last).
 *
 * @example
 * ```ts
 * const events = resolve(container, EVENTS);
 * events.on('open', (stream, info) => console.log(info.direction, info.peer.name));
 * ```
 */
export function resolve<T>(container: DependencyContainer, token: Token<T>): T {
  return container.resolve<T>(token);
}
