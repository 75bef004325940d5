/**
 * The cost of `@sidecar/metrics`: stream throughput and pillion calls/s with metrics on against
 * metrics off, in one run. Each mode runs in its own process (diagnostics channels are
 * process-wide: a subscriber in the same process would tax the "off" peers too), with a server
 * and a client sidecar over TCP on 127.0.0.1. The parent interleaves short slices of both modes,
 * so load from elsewhere on the machine hits both alike, and prints each figure (mean rate,
 * median CPU time per unit of work) and the ratio on/off: the median of the per-slice ratios
 * (goal: >= 0.97). The workers load the compiled packages (run `pnpm build` first), as an
 * application does. Bounded to about 60 s. `BENCH_METRICS_AA=1` runs both workers with metrics
 * off: that A/A run shows how far apart two equal subjects land on this machine (the noise floor).
 *
 *   pnpm bench:metrics
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createSidecar } from '@sidecar/core';
import { metrics } from '@sidecar/metrics';
import { pillion } from '@sidecar/wrapper-pillion';

process.env.SIDECAR_HOST = '127.0.0.1';
const SLICES = 12;
const SLICE_MS = 1000;
const IN_FLIGHT = 100;
const CHUNK = Buffer.alloc(64 * 1024, 7);

type Mode = 'on' | 'off';
type Task = 'stream' | 'calls';

/** The worker: two sidecar pairs (raw streams, pillion), metrics on or off; runs tasks from stdin. */
async function worker(mode: Mode): Promise<void> {
  const registry = `memory:bench-metrics-${mode}-${process.pid}` as const;
  const on = mode === 'on' && !process.env.BENCH_METRICS_AA;
  const extra = on ? [metrics()] : [];
  const sink = createSidecar({ name: 'sink', registry, wrappers: [...extra] });
  const source = createSidecar({ name: 'source', registry, wrappers: [...extra] });
  const rpcPeer = (name: string) =>
    on
      ? createSidecar({ name, registry, wrappers: [pillion(), metrics()] })
      : createSidecar({ name, registry, wrappers: [pillion()] });
  const callee = rpcPeer('callee');
  const caller = rpcPeer('caller');
  for (const app of [sink, source, callee, caller]) await app.start();
  let received = 0;
  sink.on('stream', (stream) =>
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
    }),
  );
  callee.to('*').provide('add', (a: number, b: number, cb: (sum: number) => void) => cb(a + b));
  const rpc = await caller.connect('callee');

  const streamFor = async (ms: number): Promise<number> => {
    const stream: Duplex = await source.connect('sink');
    const before = received;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      if (!stream.write(CHUNK)) await once(stream, 'drain');
    }
    const sent = await new Promise<number>((resolve) => stream.end(() => resolve(received - before)));
    return sent / ((performance.now() - t0) / 1000);
  };
  const callsFor = async (ms: number): Promise<number> => {
    const t0 = performance.now();
    let n = 0;
    const one = async () => {
      while (performance.now() - t0 < ms) {
        await rpc.call('add', n, 1);
        n++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, one));
    return n / ((performance.now() - t0) / 1000);
  };
  await streamFor(300);
  await callsFor(300);
  process.stdout.write('ready\n');
  let buffered = '';
  for await (const chunk of process.stdin) {
    buffered += String(chunk);
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const task = buffered.slice(0, nl) as Task | 'exit';
      buffered = buffered.slice(nl + 1);
      if (task === 'exit') {
        for (const app of [caller, callee, source, sink]) await app.stop();
        process.exit(0);
      }
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const rate = task === 'stream' ? await streamFor(SLICE_MS) : await callsFor(SLICE_MS);
      const cpu = process.cpuUsage(cpu0);
      // CPU time per unit of work (us per MiB, us per call): steadier than rates on a busy machine.
      const work = (rate * (performance.now() - t0)) / 1000 / (task === 'stream' ? 1024 * 1024 : 1);
      process.stdout.write(`${JSON.stringify({ task, rate, cpu: (cpu.user + cpu.system) / work })}\n`);
      nl = buffered.indexOf('\n');
    }
  }
}

class Worker {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  #lines: string[] = [];
  #wake: (() => void) | undefined;

  constructor(readonly mode: Mode) {
    this.child = spawn(
      process.execPath,
      // The workers run the packages as users do, compiled (dist: `pnpm build`), not through tsx.
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', mode],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let buffered = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      this.#lines.push(...parts);
      this.#wake?.();
    });
  }

  async line(): Promise<string> {
    while (this.#lines.length === 0) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    return this.#lines.shift() as string;
  }

  async run(task: Task): Promise<{ rate: number; cpu: number }> {
    this.child.stdin.write(`${task}\n`);
    return JSON.parse(await this.line()) as { rate: number; cpu: number };
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const workers = { off: new Worker('off'), on: new Worker('on') };
  for (const w of Object.values(workers))
    if ((await w.line()) !== 'ready') throw new Error(`${w.mode} worker failed`);
  const rates: Record<Task, Record<Mode, number[]>> = {
    stream: { on: [], off: [] },
    calls: { on: [], off: [] },
  };
  const cpus: Record<Task, Record<Mode, number[]>> = {
    stream: { on: [], off: [] },
    calls: { on: [], off: [] },
  };
  for (let slice = 0; slice < SLICES; slice++) {
    // Alternate which mode goes first, so neither always runs on a warmer machine.
    const order: Mode[] = slice % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const task of ['stream', 'calls'] as const) {
      for (const mode of order) {
        const { rate, cpu } = await workers[mode].run(task);
        rates[task][mode].push(rate);
        cpus[task][mode].push(cpu);
      }
    }
  }
  for (const w of Object.values(workers)) w.child.stdin.write('exit\n');
  const mean = (xs: number[]) => sum(xs) / xs.length;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const row = (label: string, task: Task, unit: (x: number) => string, cpuUnit: string) => {
    const off = mean(rates[task].off);
    const on = mean(rates[task].on);
    // Each slice of one mode ran right next to the same slice of the other: the median of those
    // paired ratios is what a burst of load from elsewhere disturbs least.
    const paired = median(rates[task].on.map((x, i) => x / (rates[task].off[i] as number)));
    const cpuPaired = median(cpus[task].off.map((x, i) => x / (cpus[task].on[i] as number)));
    const cpuOff = median(cpus[task].off);
    const cpuOn = median(cpus[task].on);
    console.log(
      `${label.padEnd(30)} off ${unit(off).padStart(15)}   on ${unit(on).padStart(15)}   on/off ${paired.toFixed(3)}` +
        `   | CPU ${cpuOff.toFixed(1)} vs ${cpuOn.toFixed(1)} ${cpuUnit}, off/on ${cpuPaired.toFixed(3)}`,
    );
    return { rate: paired, cpu: cpuPaired };
  };
  console.log(
    `metrics on vs off: ${SLICES} interleaved slices of ${SLICE_MS} ms each, one process per mode, TCP on 127.0.0.1`,
  );
  const a = row(
    'stream throughput (64 KiB)',
    'stream',
    (x) => `${(x / 1024 / 1024).toFixed(1)} MiB/s`,
    'us/MiB',
  );
  const b = row(
    `pillion calls (${IN_FLIGHT} in flight)`,
    'calls',
    (x) => `${Math.round(x)} calls/s`,
    'us/call',
  );
  const met = (r: { rate: number; cpu: number }) =>
    r.rate >= 0.97 ? 'met' : r.cpu >= 0.97 ? 'met by CPU time only' : 'NOT met';
  console.log(
    `goal on/off >= 0.97: streams ${met(a)}, calls ${met(b)} (load average ${loadavg()[0]?.toFixed(2)})`,
  );
}

const flag = process.argv.indexOf('--worker');
if (flag >= 0) await worker(process.argv[flag + 1] as Mode);
else await main();
