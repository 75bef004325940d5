/**
 * Breaks a V8 CPU profile (`node --cpu-prof`) down by function and by area of the code, as
 * markdown: where the CPU time of a loop goes, per operation.
 *
 *   node scripts/bench-profile.mjs PROFILE.cpuprofile [operations] [top] [from-us to-us]
 *
 * "self" is the time spent in a function's own code; "incl." also counts what it calls (every
 * sample counts once per area, however deep the area's frames are stacked). With `operations`,
 * times are also given per operation, in us. With a window (monotonic clock, in us, as
 * `bench/transport-tcp.ts` prints it when profiling), only the samples within it count.
 */
import { readFileSync } from 'node:fs';

/** Areas of the code, first match wins (a frame's URL or function name). */
const AREAS = [
  ['registry lookup (cache)', /packages\/core\/(src|dist)\/registry\//],
  ['names (validation, NFC)', /packages\/core\/(src|dist)\/names\.[jt]s/],
  ['dial race', /packages\/core\/(src|dist)\/pipeline\/dial-race\.[jt]s/],
  ['dial policy', /packages\/core\/(src|dist)\/pipeline\/dial-policy\.[jt]s/],
  ['connector (lookup, order, failover)', /packages\/core\/(src|dist)\/pipeline\/connector\.[jt]s/],
  ['dialer', /packages\/core\/(src|dist)\/pipeline\/dialer\.[jt]s/],
  ['handshake (both halves)', /packages\/core\/(src|dist)\/pipeline\/handshake\.[jt]s/],
  ['hello encode/parse/validate', /packages\/core\/(src|dist)\/wire\//],
  ['acceptor', /packages\/core\/(src|dist)\/pipeline\/acceptor\.[jt]s/],
  ['admission', /packages\/core\/(src|dist)\/pipeline\/admission\.[jt]s/],
  [
    'streams, wrapper chain',
    /packages\/core\/(src|dist)\/pipeline\/(streams|wrapper-chain|standby-pool)\.[jt]s/,
  ],
  ['lazy stream', /packages\/core\/(src|dist)\/pipeline\/lazy-stream\.[jt]s/],
  ['diagnostics', /packages\/core\/(src|dist)\/diagnostics\.[jt]s/],
  [
    'sidecar facade, lifecycle, container',
    /packages\/core\/(src|dist)\/(sidecar|lifecycle|container|config)\//,
  ],
  ['core util (abort, delay, lru)', /packages\/core\/(src|dist)\/util\//],
  ['errors', /packages\/core\/(src|dist)\/errors/],
  ['transport-tcp', /packages\/transport-tcp\/(src|dist)\//],
  ['transport-tls', /packages\/transport-tls\/(src|dist)\//],
  ['bench harness', /\/bench\/(lib\/)?[\w-]+\.[jt]s/],
  ['node timers', /node:internal\/timers|node:timers/],
  ['node net/stream', /node:net|node:internal\/(streams|stream_base_commons|net)|node:stream/],
  ['node events/promises', /node:events|node:internal\/(event_target|process\/task_queues|abort_controller)/],
  ['node other', /^node:/],
];
const SPECIAL = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

function areaOf(frame) {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  for (const [area, pattern] of AREAS) if (pattern.test(frame.url)) return area;
  if (frame.url === '') return `(native) ${frame.functionName || '(anonymous)'}`;
  return 'other JS';
}

function shortUrl(url) {
  return url.replace(/^file:\/\/.*?\/(packages|bench|node_modules)\//, '$1/');
}

export function analyse(profile, window) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const inclusive = new Map();
  const areaTotals = new Map();
  let total = 0;
  let busy = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (window && (at < window[0] || at > window[1])) return;
    total += dt;
    const node = byId.get(id);
    const leaf = node.callFrame;
    if (leaf.functionName !== '(idle)') busy += dt;
    const key = `${leaf.functionName || '(anonymous)'} ${shortUrl(leaf.url)}:${leaf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const areas = new Set();
    const fns = new Set();
    for (let up = id; up !== undefined; up = parent.get(up)) {
      const frame = byId.get(up).callFrame;
      areas.add(areaOf(frame));
      fns.add(`${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`);
    }
    for (const a of areas) areaTotals.set(a, (areaTotals.get(a) ?? 0) + dt);
    for (const f of fns) inclusive.set(f, (inclusive.get(f) ?? 0) + dt);
    const leafArea = areaOf(leaf);
    areaTotals.set(`self: ${leafArea}`, (areaTotals.get(`self: ${leafArea}`) ?? 0) + dt);
  });
  return { self, inclusive, areaTotals, total, busy };
}

export function report(name, profile, operations, top = 25, window = undefined) {
  const { self, inclusive, areaTotals, total, busy } = analyse(profile, window);
  const ms = (us) => (us / 1000).toFixed(1);
  const per = (us) => (operations ? (us / operations).toFixed(1) : '');
  const out = [`### ${name}`, ''];
  out.push(
    `${ms(total)} ms profiled, ${ms(busy)} ms busy (not idle)${operations ? `, ${operations} operations: ${per(busy)} us busy per operation` : ''}.`,
    '',
  );
  out.push('| area | self ms | self us/op | incl. ms | incl. us/op |', '|---|---|---|---|---|');
  const areas = [...new Set([...areaTotals.keys()].map((k) => k.replace(/^self: /, '')))];
  areas.sort((a, b) => (areaTotals.get(`self: ${b}`) ?? 0) - (areaTotals.get(`self: ${a}`) ?? 0));
  for (const a of areas) {
    if (a === '(root)') continue;
    const s = areaTotals.get(`self: ${a}`) ?? 0;
    const inc = areaTotals.get(a) ?? 0;
    out.push(`| ${a} | ${ms(s)} | ${per(s)} | ${ms(inc)} | ${per(inc)} |`);
  }
  out.push(
    '',
    `Top ${top} functions by self time:`,
    '',
    '| function | self ms | self us/op | incl. ms |',
    '|---|---|---|---|',
  );
  for (const [f, s] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    out.push(`| \`${f}\` | ${ms(s)} | ${per(s)} | ${ms(inclusive.get(f) ?? 0)} |`);
  }
  return `${out.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('bench-profile.mjs')) {
  const [file, operations, top, from, to] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node scripts/bench-profile.mjs PROFILE.cpuprofile [operations] [top]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const window = from && to ? [Number(from), Number(to)] : undefined;
  process.stdout.write(
    report(file, profile, operations ? Number(operations) : undefined, top ? Number(top) : 25, window),
  );
}
