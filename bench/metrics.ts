/**
 * The cost of `@sidecar/metrics`: stream throughput and pillion calls/s with metrics on against
 * metrics off, in one run. Each mode runs in its own process (diagnostics channels are
 * process-wide: a subscriber in the same process would tax the "off" peers too), with a server
 * and a client sidecar over TCP on 127.0.0.1. Three workers: `off`, `on`, and a second `off`
 * (`off'`): the A/A pair off'/off shows how far apart two equal subjects land on this machine in
 * this run (the noise floor the on/off figure must be read against). The parent runs many short
 * slices, each slice every worker once in a rotating order, so load from elsewhere hits all
 * alike; each figure is the median of the per-slice ratios, with its spread (the 25th and 75th
 * percentiles). CPU time per unit of work is printed too (steadier on a busy machine). The
 * workers load the compiled packages (run `pnpm build` first), as an application does. Bounded
 * to about 70 s.
 *
 *   pnpm bench:metrics
 *
 * `--count on|off N` runs one worker alone: 20,000 calls to warm up, then N calls, and prints
 * the CPU time per call. Under callgrind, the difference between two counts is the instruction
 * count per call (caller and callee, both in this process), steady on a loaded machine:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded --import tsx \
 *     bench/metrics.ts --count on 60000      # and 10000: (I(60000) - I(10000)) / 50000
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
import { type Comparison, percentile, printComparisons } from './lib/measure.js';

process.env.SIDECAR_HOST = '127.0.0.1';
const SLICES = 30;
const SLICE_MS = 350;
const IN_FLIGHT = 100;
const CHUNK = Buffer.alloc(64 * 1024, 7);

/** `off2` is a second, identical `off` worker: the A/A reference. */
type Mode = 'on' | 'off' | 'off2';
const MODES: Mode[] = ['off', 'on', 'off2'];
type Task = 'stream' | 'calls';

/** The worker: two sidecar pairs (raw streams, pillion), metrics on or off; runs tasks from stdin. */
async function worker(mode: Mode, count = 0): Promise<void> {
  const registry = `memory:bench-metrics-${mode}-${process.pid}` as const;
  const on = mode === 'on';
  const plugins = on ? [metrics()] : [];
  const sink = createSidecar({ name: 'sink', registry, plugins });
  const source = createSidecar({ name: 'source', registry, plugins });
  const rpcPeer = (name: string) => createSidecar({ name, registry, wrappers: [pillion()], plugins });
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
  if (count > 0) {
    // A fixed number of calls (for instruction counts): the same loop, bounded by calls, not time.
    const callsN = async (total: number) => {
      let n = 0;
      const one = async () => {
        while (n < total) {
          n++;
          await rpc.call('add', n, 1);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, one));
    };
    await callsN(20_000);
    const cpu0 = process.cpuUsage();
    await callsN(count);
    const cpu = process.cpuUsage(cpu0);
    console.log(`${mode}: ${count} calls, ${((cpu.user + cpu.system) / count).toFixed(2)} us CPU per call`);
    for (const app of [caller, callee, source, sink]) await app.stop();
    process.exit(0);
  }
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

/** The median of per-slice ratios a[i]/b[i], with the 25th and 75th percentiles. */
function paired(a: number[], b: number[]): { median: number; p25: number; p75: number } {
  const ratios = a.map((x, i) => x / (b[i] as number));
  return { median: percentile(ratios, 50), p25: percentile(ratios, 25), p75: percentile(ratios, 75) };
}

async function main(): Promise<void> {
  const workers = Object.fromEntries(MODES.map((m) => [m, new Worker(m)])) as Record<Mode, Worker>;
  for (const w of Object.values(workers))
    if ((await w.line()) !== 'ready') throw new Error(`${w.mode} worker failed`);
  const empty = () => ({ on: [] as number[], off: [] as number[], off2: [] as number[] });
  const rates: Record<Task, Record<Mode, number[]>> = { stream: empty(), calls: empty() };
  const cpus: Record<Task, Record<Mode, number[]>> = { stream: empty(), calls: empty() };
  for (let slice = 0; slice < SLICES; slice++) {
    // Rotate the order, so no mode always runs first (on a cooler or warmer machine).
    const order = MODES.map((_, i) => MODES[(i + slice) % MODES.length] as Mode);
    for (const task of ['stream', 'calls'] as const) {
      for (const mode of order) {
        const { rate, cpu } = await workers[mode].run(task);
        rates[task][mode].push(rate);
        cpus[task][mode].push(cpu);
      }
    }
  }
  for (const w of Object.values(workers)) w.child.stdin.write('exit\n');
  const rows: Comparison[] = [];
  const spreads: string[] = [];
  const goals: string[] = [];
  const add = (label: string, task: Task, unit: string, scale: number) => {
    const r = rates[task];
    const median = (xs: number[]) => percentile(xs, 50) / scale;
    const onOff = paired(r.on, r.off);
    const aa = paired(r.off2, r.off);
    const cpu = paired(cpus[task].off, cpus[task].on);
    const cpuAa = paired(cpus[task].off, cpus[task].off2);
    rows.push(
      {
        what: `${label}, metrics on`,
        unit,
        ours: median(r.on),
        reference: median(r.off),
        referenceLabel: 'metrics off',
        better: 'higher',
        goal: '>= 0.97',
      },
      {
        what: `${label}, A/A: a 2nd off worker`,
        unit,
        ours: median(r.off2),
        reference: median(r.off),
        referenceLabel: 'metrics off',
        better: 'higher',
      },
    );
    const f = (x: { median: number; p25: number; p75: number }) =>
      `${x.median.toFixed(3)} [${x.p25.toFixed(3)}..${x.p75.toFixed(3)}]`;
    spreads.push(
      `${label.padEnd(28)} paired on/off ${f(onOff)}   A/A ${f(aa)}   | CPU per unit off/on ${f(cpu)}   A/A ${f(cpuAa)}`,
    );
    goals.push(
      `${label}: ${onOff.median >= 0.97 ? 'met' : cpu.median >= 0.97 ? 'met by CPU time only' : 'NOT met'}`,
    );
  };
  add('stream throughput (64 KiB)', 'stream', 'MiB/s', 1024 * 1024);
  add(`pillion calls (${IN_FLIGHT} in flight)`, 'calls', 'calls/s', 1);
  printComparisons(
    `metrics on vs off: ${SLICES} interleaved slices of ${SLICE_MS} ms per worker, one process per worker, TCP on 127.0.0.1 (medians of the slices)`,
    rows,
  );
  console.log('per-slice ratios: median [25th..75th percentile]');
  for (const line of spreads) console.log(`  ${line}`);
  console.log(`goal on/off >= 0.97: ${goals.join(', ')} (load average ${loadavg()[0]?.toFixed(2)})`);
}
const flag = process.argv.indexOf('--worker');
const counted = process.argv.indexOf('--count');
if (flag >= 0) await worker(process.argv[flag + 1] as Mode);
else if (counted >= 0) {
  const [mode, n] = [process.argv[counted + 1], Number(process.argv[counted + 2])];
  if ((mode !== 'on' && mode !== 'off') || !Number.isInteger(n) || n <= 0)
    throw new RangeError('usage: bench/metrics.ts --count on|off N (N calls, a positive integer)');
  await worker(mode, n);
} else await main();
