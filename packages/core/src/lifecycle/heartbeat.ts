import type { RecordInput, Registry } from '../contracts/registry.js';
import { publishHeartbeat } from '../diagnostics.js';
import {
  isSidecarError,
  RecordNotFoundError,
  RegistryUnavailableError,
  type SidecarError,
} from '../errors.js';
import type { InstanceRecord } from '../records.js';

/** Longest wait before a failed heartbeat is tried again, in ms (shorter with a short interval). */
export const HEARTBEAT_RETRY_DELAY = 500;

/** What the heartbeat reports. */
export interface HeartbeatEvents {
  /** A renew failed (it is retried on the next beat). */
  onFailure(error: SidecarError): void;
  /** The record was gone (registry restarted or the TTL passed) and has been registered again. */
  onReregistered(record: InstanceRecord): void;
}

/**
 * Keeps one record alive: renews it every `interval`, registers it again when the registry lost
 * it, and keeps trying through outages: a failed beat is tried again after a short delay (not a
 * whole interval later), so a registry failover of a few seconds never lets the record expire.
 * Its timers never keep the process alive.
 */
export class Heartbeat {
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #beating = false;

  constructor(
    private readonly registry: Registry,
    private readonly record: () => RecordInput,
    private readonly ttl: number,
    private readonly interval: number,
    private readonly events: HeartbeatEvents,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.beat(), this.interval);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  /** Tries the beat again soon (while the heartbeat runs). */
  #retrySoon(): void {
    if (!this.#timer || this.#retry) return;
    const delay = Math.min(HEARTBEAT_RETRY_DELAY, Math.max(50, this.interval / 4));
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.beat();
    }, delay);
    this.#retry.unref();
  }

  /** One renew (or re-register); never throws. */
  async beat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    const record = this.record();
    try {
      await this.registry.renew(record.instanceId, this.ttl);
      publishHeartbeat(record.instanceId, this.ttl, true);
    } catch (err) {
      publishHeartbeat(record.instanceId, this.ttl, false);
      if (err instanceof RecordNotFoundError) {
        try {
          this.events.onReregistered(await this.registry.register(record, this.ttl));
        } catch (again) {
          this.events.onFailure(asSidecarError(again));
          this.#retrySoon();
        }
      } else {
        this.events.onFailure(asSidecarError(err));
        this.#retrySoon();
      }
    } finally {
      this.#beating = false;
    }
  }
}

function asSidecarError(err: unknown): SidecarError {
  return isSidecarError(err)
    ? err
    : new RegistryUnavailableError(`heartbeat failed: ${String(err)}`, { cause: err });
}
