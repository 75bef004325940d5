import { InvalidRecordError, type SidecarError } from '../errors.js';
import { decodeStored, type InstanceRecord } from '../records.js';
import { readRecord } from './record-reader.js';

/** A change as delivered by a driver's subscription: validated by BaseRegistry before use. */
export interface RegistryChange {
  type: 'join' | 'update' | 'leave' | 'timeout';
  record: InstanceRecord;
}

/** A change whose type is known and whose record is still raw (validated by the caller). */
export interface RawRegistryChange {
  type: RegistryChange['type'];
  record: unknown;
}

const CHANGE_TYPES = new Set(['join', 'update', 'leave', 'timeout']);

/** True for the four change types. */
export function isChangeType(type: unknown): type is RegistryChange['type'] {
  return typeof type === 'string' && CHANGE_TYPES.has(type);
}

/** How many instances' last known state is remembered (the oldest are forgotten first). */
const MAX_TRACKED_INSTANCES = 10_000;

/**
 * Reads one raw change from a subscription: a `{ type, record }` value or its JSON text.
 * Throws InvalidRecordError when it is not of that shape.
 */
export function readChange(raw: unknown): RawRegistryChange {
  const change = decodeStored(raw) as Partial<RawRegistryChange> | null;
  if (!change || typeof change !== 'object' || !isChangeType(change.type)) {
    throw new InvalidRecordError(`ignored a registry change of unknown shape: ${JSON.stringify(raw)}`);
  }
  return change as RawRegistryChange;
}

/**
 * What each instance was last seen doing, so that events are exactly-once per peer: `join` once
 * per live instance (an `update` of an unknown one is its join), `leave`/`timeout` once per
 * departure, however many times (and from how many sweepers) the store announces them.
 */
export class ChangeTracker {
  readonly #state = new Map<string, 'joined' | 'gone'>();

  /**
   * Reads one raw change of `namespace` (others are ignored; malformed ones are warned about):
   * its record, and the event it means to this peer (none when it was told already).
   */
  read(
    raw: unknown,
    namespace: string,
    warn: (error: SidecarError) => void,
  ): { record: InstanceRecord; event: RegistryChange['type'] | undefined } | undefined {
    let change: RawRegistryChange;
    try {
      change = readChange(raw);
    } catch (err) {
      warn(err as InvalidRecordError);
      return undefined;
    }
    const record = readRecord(change.record, warn);
    if (!record || record.namespace !== namespace) return undefined;
    return { record, event: this.eventOf(change.type, record.instanceId) };
  }

  /** The event `type` on `record` means to this peer, or undefined when it has been told already. */
  eventOf(type: RegistryChange['type'], instanceId: string): RegistryChange['type'] | undefined {
    const state = this.#state.get(instanceId);
    if (type === 'join' || type === 'update') {
      this.#track(instanceId, 'joined');
      if (state !== 'joined') return 'join';
      return type === 'update' ? 'update' : undefined;
    }
    if (state === 'gone') return undefined;
    this.#track(instanceId, 'gone');
    return type;
  }

  /** Notes an instance present when a watch starts, so its next update is not mistaken for a join. */
  present(instanceId: string): void {
    if (!this.#state.has(instanceId)) this.#track(instanceId, 'joined');
  }

  #track(instanceId: string, state: 'joined' | 'gone'): void {
    this.#state.delete(instanceId);
    this.#state.set(instanceId, state);
    if (this.#state.size > MAX_TRACKED_INSTANCES) {
      const oldest = this.#state.keys().next().value;
      if (oldest !== undefined) this.#state.delete(oldest);
    }
  }
}
