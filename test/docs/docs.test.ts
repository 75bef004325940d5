/**
 * Every code block of README.md, docs/*.md and packages/*\/README.md that is meant to run is run
 * here as a user would run it, against the packed tarballs installed with plain npm (see
 * project.ts): `js`/`mjs` blocks with `node`, `cjs` blocks with `node` as CommonJS, `ts` blocks
 * type-checked with `tsc`, `sh run` blocks with bash. `no-run` in the info string opts a block out;
 * `server` runs it in the background until the end of its file, then SIGTERM must make it exit 0.
 * Blocks of one file run in order in one folder, on an SQLite registry of their own, on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { blocksOf, type CodeBlock } from './markdown.js';
import { ROOT } from './project.js';
import { type Background, runToEnd, startBackground } from './run-block.js';

function docFiles(): string[] {
  const files = ['README.md'];
  for (const f of readdirSync(join(ROOT, 'docs')).sort()) if (f.endsWith('.md')) files.push(`docs/${f}`);
  for (const p of readdirSync(join(ROOT, 'packages')).sort()) {
    try {
      readdirSync(join(ROOT, 'packages', p)).includes('README.md') && files.push(`packages/${p}/README.md`);
    } catch {}
  }
  return files;
}

const slug = (file: string) => file.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-');
const blockFile = (b: CodeBlock) =>
  `L${b.line}.${b.kind === 'node-cjs' ? 'cjs' : b.kind === 'typecheck' ? 'ts' : b.kind === 'shell' ? 'sh' : 'mjs'}`;
const label = (b: CodeBlock) => `${b.file}:${b.line} (${[b.lang, ...b.flags].join(' ')})`;

const docs = docFiles().map((file) => ({ file, blocks: blocksOf(join(ROOT, file), file) }));
let project = '';
let typeErrors = new Map<string, string[]>();

beforeAll(() => {
  project = inject('docsProject');
  rmSync(join(project, 'blocks'), { recursive: true, force: true });
  for (const doc of docs) {
    const dir = join(project, 'blocks', slug(doc.file));
    mkdirSync(dir, { recursive: true });
    for (const b of doc.blocks) if (b.kind !== 'skip') writeFileSync(join(dir, blockFile(b)), b.code);
  }
  // One tsc run for every ts block: errors are filed under their block.
  typeErrors = new Map();
  try {
    execFileSync(join(project, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json', '--pretty', 'false'], {
      cwd: project,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (err) {
    const output = `${(err as { stdout?: string }).stdout ?? ''}`;
    for (const line of output.split('\n').filter((l) => l.trim() !== '')) {
      const m = /^(blocks\/[^(]+)\(/.exec(line);
      const key = m?.[1] ?? '(tsc)';
      typeErrors.set(key, [...(typeErrors.get(key) ?? []), line]);
    }
  }
}, 120_000);

for (const doc of docs) {
  const runnable = doc.blocks.filter((b) => b.kind !== 'skip');
  if (runnable.length === 0) continue;
  describe(doc.file, () => {
    const servers: Array<{ block: CodeBlock; bg: Background }> = [];
    const dir = () => join(project, 'blocks', slug(doc.file));
    const env = (): NodeJS.ProcessEnv => ({
      ...process.env,
      SIDECAR_REGISTRY: `sqlite:${join(dir(), 'registry.db')}`,
      SIDECAR_HOST: '127.0.0.1',
      NO_COLOR: '1',
    });
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.bg.stop(2000)));
    });

    for (const block of runnable) {
      it(label(block), async () => {
        const file = blockFile(block);
        if (block.kind === 'typecheck') {
          expect(typeErrors.get('(tsc)') ?? [], 'tsc itself failed').toEqual([]);
          expect(typeErrors.get(`blocks/${slug(doc.file)}/${file}`) ?? []).toEqual([]);
          return;
        }
        const [cmd, args] =
          block.kind === 'shell' ? ['bash', ['-euo', 'pipefail', file]] : [process.execPath, [file]];
        if (block.server) {
          servers.push({ block, bg: await startBackground(cmd, args, { cwd: dir(), env: env() }) });
          return;
        }
        const result = await runToEnd(cmd, args, { cwd: dir(), env: env() });
        expect(result.timedOut, `never exited; output:\n${result.out}${result.err}`).toBe(false);
        expect(result.code, `exit code; output:\n${result.out}${result.err}`).toBe(0);
      });
    }

    if (runnable.some((b) => b.server)) {
      it(`${doc.file}: every server block stops on SIGTERM and exits 0`, async () => {
        const ends = await Promise.all(servers.splice(0).map(async (s) => ({ s, end: await s.bg.stop() })));
        for (const { s, end } of ends) {
          expect(end.timedOut, `${label(s.block)} ignored SIGTERM:\n${end.out}${end.err}`).toBe(false);
          expect(end.code, `${label(s.block)} exit code:\n${end.out}${end.err}`).toBe(0);
        }
      });
    }
  });
}
