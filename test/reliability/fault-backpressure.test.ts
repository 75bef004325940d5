import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { newFigures, noteMemory, recordFigures } from './figures.js';
import { describePeers, killAllPeers, spawnPeer } from './proc.js';
import { SCRIPTS, sampleMemory, uniqueNamespace, workdir } from './scenario.js';

const STREAMS = 8;
const STALL_MS = 4000;
const MiB = 1024 * 1024;
/** Generous bounds: what a stalled stream may hold is the kernel's socket buffers plus the high-water marks. */
const MAX_PER_STREAM = 64 * MiB;
const MAX_WRITABLE = 1 * MiB;
const MAX_RSS_GROWTH = 128 * MiB;

describe('fault: a peer stops reading (backpressure)', () => {
  const work = workdir();
  afterAll(async () => {
    await killAllPeers();
    work.remove();
  });

  it("keeps the sender's memory bounded, then delivers every byte", async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('fault: receiver stops reading', 'sqlite');
    const began = Date.now();
    const base = { registry: `sqlite:${work.dir}/registry.db`, namespace: uniqueNamespace('stall') };
    const sink = spawnPeer(SCRIPTS.server, { ...base, app: 'sink', names: ['sink'] }, { label: 'sink' });
    await sink.ready();
    const flooder = spawnPeer(
      SCRIPTS.flooder,
      { ...base, app: 'flooder', name: 'flooder', target: 'sink', streams: STREAMS, stallMs: STALL_MS },
      { label: 'flooder' },
    );
    const flood = await flooder.waitFor((l) => l.t === 'flood', 60_000, 'the flood summary');
    sampleMemory(figures, 'sink', [sink]);

    expect(flood.errors).toEqual([]);
    expect(flood.ok).toBe(STREAMS); // every byte written arrived, sha256 checked, once the sink read again
    expect(Number(flood.maxWrittenPerStream)).toBeLessThan(MAX_PER_STREAM);
    expect(Number(flood.writableMax)).toBeLessThan(MAX_WRITABLE);
    expect(Number(flood.rssMax) - Number(flood.rssStart)).toBeLessThan(MAX_RSS_GROWTH);

    figures.peers = 1;
    figures.processes = 2;
    figures.streams = STREAMS;
    figures.bytesChecked = Number(flood.written);
    figures.faults = STREAMS;
    noteMemory(figures, 'sender', Math.round((Number(flood.rssMax) / MiB) * 10) / 10);
    figures.notes.push(
      `${STREAMS} streams to a peer that read nothing for ${STALL_MS} ms: the sender got at most ` +
        `${(Number(flood.maxWrittenPerStream) / MiB).toFixed(1)} MiB into one stream (socket buffers), writableLength peaked at ` +
        `${Math.round(Number(flood.writableMax) / 1024)} KiB, RSS grew ${((Number(flood.rssMax) - Number(flood.rssStart)) / MiB).toFixed(1)} MiB ` +
        `(from ${(Number(flood.rssStart) / MiB).toFixed(0)} MiB); then all ${(Number(flood.written) / MiB).toFixed(1)} MiB arrived intact`,
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await sink.stop();
  });
});
