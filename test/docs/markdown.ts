import { readFileSync } from 'node:fs';

/** What the doc-test suite does with a code block, from its language and info string. */
export type BlockKind = 'node-esm' | 'node-cjs' | 'typecheck' | 'shell' | 'skip';

/** One fenced code block of a markdown file. */
export interface CodeBlock {
  /** The markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The language word (`js`, `ts`, `sh`, ...), lower-case; '' when none. */
  lang: string;
  /** The other words of the info string (`no-run`, `server`, `run`). */
  flags: string[];
  /** The block's text. */
  code: string;
  kind: BlockKind;
  /** A `server` block runs in the background until the end of its file (then SIGTERM, exit 0). */
  server: boolean;
}

/**
 * How an info string maps to a kind:
 * - `js`, `mjs`, `javascript`: saved as .mjs and run with plain `node`;
 * - `cjs`: saved as .cjs and run with `node`;
 * - `ts`, `typescript`: type-checked with `tsc` against the installed packages;
 * - `sh run` / `bash run`: run with bash (other shell blocks are shown, not run);
 * - `no-run` anywhere in the info string: skipped (fragments, blocks needing outside servers);
 * - anything else (text, json, blocks without a language): not code to run.
 */
export function kindOf(lang: string, flags: string[]): BlockKind {
  if (flags.includes('no-run')) return 'skip';
  if (['js', 'mjs', 'javascript'].includes(lang)) return 'node-esm';
  if (lang === 'cjs') return 'node-cjs';
  if (['ts', 'typescript'].includes(lang)) return 'typecheck';
  if (['sh', 'bash', 'shell'].includes(lang) && flags.includes('run')) return 'shell';
  return 'skip';
}

/** The fenced code blocks of a markdown text (``` fences; the fence may be indented). */
export function parseBlocks(text: string, file: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '```', info = ''] = open;
    const [lang = '', ...flags] = info.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? '';
      if (line.trimStart().startsWith(fence) && line.trim() === line.trim().replace(/[^`]/g, '')) break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    const lower = lang.toLowerCase();
    blocks.push({
      file,
      line: i + 1,
      lang: lower,
      flags,
      code: `${body.join('\n')}\n`,
      kind: kindOf(lower, flags),
      server: flags.includes('server'),
    });
    i = j;
  }
  return blocks;
}

/** Reads and parses one markdown file. */
export function blocksOf(path: string, file: string): CodeBlock[] {
  return parseBlocks(readFileSync(path, 'utf8'), file);
}
