import type { RecordInput, Registry } from '../contracts/registry.js';
import { publishHeartbeat } from '../diagnostics.js';
import {
  isSidecarError,
  RecordNotFoundError,
  RegistryUnavailableError,
  type SidecarError,
} from '../errors.js';
import type { InstanceRecord } from '../records.js';

/** What the heartbeat reports. */
export interface HeartbeatEvents {
  /** A renew failed (it is retried on the next beat). */
  onFailure(error: SidecarError): void;
  /** The record was gone (registry restarted or the TTL passed) and has been registered again. */
  onReregistered(record: InstanceRecord): void;
}

/**
 * Keeps one record alive: renews it every `interval`, registers it again when the registry lost
 * it, and keeps trying through outages. Its timer never keeps the process alive.
 */
export class Heartbeat {
  #timer: NodeJS.Timeout | undefined;
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
        }
      } else {
        this.events.onFailure(asSidecarError(err));
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
