#!/usr/bin/env node
// Runs every test suite (the main vitest run, the reliability suite, the doc tests), each with
// its usual output, then prints one overall line, exactly `N passed, M failed`, and exits
// non-zero if anything failed. A suite that produced no results (it crashed) counts as 1 failed.
//   node scripts/test-all.mjs            every suite
//   node scripts/test-all.mjs main docs  some of them
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUITES = {
  main: [],
  reliability: ['--config', 'test/reliability/vitest.config.ts'],
  docs: ['--config', 'test/docs/vitest.config.ts'],
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in SUITES)) {
    console.error(`unknown suite "${name}"; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
}
const names = wanted.length > 0 ? wanted : Object.keys(SUITES);
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const out = mkdtempSync(join(tmpdir(), 'sidecar-test-all-'));

/** Passed and failed tests of one vitest JSON report; a file that failed to load counts as one failure. */
function countsOf(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  let failed = report.numFailedTests ?? 0;
  for (const result of report.testResults ?? []) {
    const anyFailed = (result.assertionResults ?? []).some((a) => a.status === 'failed');
    if (result.status === 'failed' && !anyFailed) failed += 1;
  }
  return { passed: report.numPassedTests ?? 0, failed };
}

const lines = [];
let passed = 0;
let failed = 0;
for (const name of names) {
  const json = join(out, `${name}.json`);
  const run = spawnSync(
    process.execPath,
    [vitest, 'run', ...SUITES[name], '--reporter=default', '--reporter=json', `--outputFile.json=${json}`],
    { cwd: root, stdio: 'inherit' },
  );
  let counts;
  if (existsSync(json)) counts = countsOf(json);
  else counts = { passed: 0, failed: 1 };
  if (run.status !== 0 && counts.failed === 0) counts.failed = 1; // crashed after writing results
  passed += counts.passed;
  failed += counts.failed;
  lines.push(`  ${name}: ${counts.passed} passed, ${counts.failed} failed`);
}
rmSync(out, { recursive: true, force: true });
console.log(`\nall suites:\n${lines.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
