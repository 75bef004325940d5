import type { InstanceRecord, Registry } from '@sidecar/core';
import { metricsTargetOf } from './metrics-target.js';

/** A peer's state as the dashboard shows it. */
export type PeerState = 'live' | 'expiring' | 'timed out';

/** Figures read from a peer's `/metrics`, when it exposes them. */
export interface PeerFigures {
  streamsActive: number;
  streamsOpened: number;
  callsServed: number;
  callsMade: number;
  bytesIn: number;
  bytesOut: number;
  pendingCallbacks: number;
}

/** One row of the dashboard. Everything in it except the numbers comes from the peer: show it as text. */
export interface PeerView {
  name: string;
  instanceId: string;
  endpoints: string[];
  transports: string[];
  methods: string[];
  metadata: string;
  state: PeerState;
  /** Time since the last renewal seen, in ms. */
  heartbeatAge: number;
  /** The record's lifetime without a heartbeat, as observed, in ms. */
  ttl: number;
  /** Time left before the record expires, in ms. */
  remaining: number;
  metricsUrl: string | undefined;
  figures: PeerFigures | undefined;
}

/** A change for the live log. */
export interface ChangeView {
  at: number;
  type: 'join' | 'update' | 'leave' | 'timeout';
  name: string;
  instanceId: string;
}

interface Tracked {
  record: InstanceRecord;
  /** When this dashboard saw the current `expiresAt` first. */
  renewedAt: number;
  ttl: number;
  timedOutAt: number | undefined;
  figures: PeerFigures | undefined;
}

/** How long a timed-out peer stays on the page, in ms. */
export const TIMED_OUT_SHOWN_FOR = 5 * 60_000;
/** Most bytes read from one peer's `/metrics`. */
export const MAX_METRICS_BYTES = 1 << 20;
/** Time limit of one scrape, in ms. */
export const SCRAPE_TIMEOUT = 1500;

const FIGURES: { [K in keyof PeerFigures]: string } = {
  streamsActive: 'sidecar_streams_active',
  streamsOpened: 'sidecar_streams_opened_total',
  callsServed: 'rpc_server_call_duration_seconds_count',
  callsMade: 'rpc_client_call_duration_seconds_count',
  bytesIn: 'sidecar_received_bytes_total',
  bytesOut: 'sidecar_sent_bytes_total',
  pendingCallbacks: 'sidecar_rpc_pending_callbacks',
};

/** Sums the samples of each wanted series in Prometheus text; lines that do not parse are ignored. */
export function figuresOf(text: string): PeerFigures {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) sums.set(m[1] as string, (sums.get(m[1] as string) ?? 0) + value);
  }
  const out = {} as PeerFigures;
  for (const [key, series] of Object.entries(FIGURES)) out[key as keyof PeerFigures] = sums.get(series) ?? 0;
  return out;
}

async function scrape(url: string): Promise<PeerFigures | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT), redirect: 'error' });
  if (!res.ok || !res.body) return undefined;
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length > MAX_METRICS_BYTES) return undefined;
  }
  return figuresOf(text);
}

/**
 * What the dashboard knows about the peers of one namespace: the registry's live records, when
 * each was last seen renewed, the TTL that implies, the peers that timed out, and the figures of
 * those that expose metrics.
 */
export class DashboardState {
  readonly #peers = new Map<string, Tracked>();
  readonly #log: ChangeView[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly pattern: string,
  ) {}

  /** The latest changes, oldest first. */
  get log(): readonly ChangeView[] {
    return this.#log;
  }

  /** Records a registry event; returns it for the live log. */
  change(type: ChangeView['type'], record: InstanceRecord, now = Date.now()): ChangeView {
    const entry: ChangeView = { at: now, type, name: record.name, instanceId: record.instanceId };
    this.#log.push(entry);
    if (this.#log.length > 200) this.#log.shift();
    if (type === 'leave') this.#peers.delete(record.instanceId);
    else if (type === 'timeout') {
      const tracked = this.#peers.get(record.instanceId);
      if (tracked) tracked.timedOutAt = now;
    } else this.#see(record, now);
    return entry;
  }

  /** Reads the registry once and updates every peer. */
  async refresh(now = Date.now()): Promise<void> {
    const records = await this.registry.list(this.pattern);
    const seen = new Set<string>();
    for (const record of records) {
      seen.add(record.instanceId);
      this.#see(record, now);
    }
    for (const [id, tracked] of this.#peers) {
      if (seen.has(id)) continue;
      // Gone without a leave: its record expired (the timeout event may come later, from a sweep).
      tracked.timedOutAt ??= now;
      if (now - tracked.timedOutAt > TIMED_OUT_SHOWN_FOR) this.#peers.delete(id);
    }
  }

  /** Scrapes every live peer that exposes metrics (in parallel; failures leave the last figures). */
  async scrapeAll(): Promise<void> {
    await Promise.all(
      [...this.#peers.values()]
        .filter((t) => t.timedOutAt === undefined)
        .map(async (t) => {
          const url = urlOf(t.record);
          if (!url) return;
          t.figures = (await scrape(url).catch(() => undefined)) ?? t.figures;
        }),
    );
  }

  /** The rows, by name then instance. */
  view(now = Date.now()): PeerView[] {
    const rows: PeerView[] = [];
    for (const t of this.#peers.values()) {
      const r = t.record;
      const remaining = r.expiresAt - now;
      const state: PeerState =
        t.timedOutAt !== undefined || remaining <= 0
          ? 'timed out'
          : remaining < t.ttl / 2
            ? 'expiring'
            : 'live';
      rows.push({
        name: r.name,
        instanceId: r.instanceId,
        endpoints: r.endpoints.map(
          (e) => `${e.transport}://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`,
        ),
        transports: [...new Set(r.endpoints.map((e) => e.transport))],
        methods: r.methods,
        metadata: JSON.stringify(r.metadata),
        state,
        heartbeatAge: Math.max(0, now - t.renewedAt),
        ttl: t.ttl,
        remaining: Math.max(0, remaining),
        metricsUrl: urlOf(r),
        figures: t.figures,
      });
    }
    return rows.sort((a, b) => a.name.localeCompare(b.name) || a.instanceId.localeCompare(b.instanceId));
  }

  #see(record: InstanceRecord, now: number): void {
    const tracked = this.#peers.get(record.instanceId);
    if (!tracked) {
      this.#peers.set(record.instanceId, {
        record,
        renewedAt: now,
        ttl: Math.max(0, record.expiresAt - now),
        timedOutAt: undefined,
        figures: undefined,
      });
      return;
    }
    if (record.expiresAt > tracked.record.expiresAt) {
      tracked.renewedAt = now;
      // Seen at most one poll after the renewal: the largest lifetime left is the closest to the TTL.
      tracked.ttl = Math.max(tracked.ttl, record.expiresAt - now);
      tracked.timedOutAt = undefined;
    }
    tracked.record = record;
  }
}

function urlOf(record: InstanceRecord): string | undefined {
  const target = metricsTargetOf(record);
  return target ? `http://${target.address}${target.path}` : undefined;
}
