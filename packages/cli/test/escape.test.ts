import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSidecar, openRegistry, type RegistrySpec } from '@sidecar/core';
import { pillion } from '@sidecar/wrapper-pillion';
import { afterEach, describe, expect, it } from 'vitest';
import { escapeText, safeJson } from '../src/escape.js';
import { interrupt, killLeftovers, runCli, startCli, waitForOutput } from './run-cli.js';

afterEach(killLeftovers);

// What a hostile peer or registry writer puts in its fields: clear screen, a window title (OSC),
// a one-byte C1 CSI, DEL, a right-to-left override and a first-strong-isolate, a line separator.
const HOSTILE = '\u001b[2J\u001b]0;pwned\u0007\u009b31m\u007f\u202eevil\u2068\u2028x';
// Every character a terminal would act on, C0 to bidi.
const TERMINAL_CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

describe('escapeText / safeJson', () => {
  it('show every control, C1 and bidi character as a visible escape', () => {
    expect(escapeText(HOSTILE)).toBe('\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\x7f\\u202eevil\\u2068\\u2028x');
    expect(escapeText('plain name-1.ok')).toBe('plain name-1.ok');
    expect(escapeText('a\nb\tc')).toBe('a\\x0ab\\x09c');
  });

  it('keep JSON valid and equal to the original value once parsed', () => {
    const value = { name: HOSTILE, list: [HOSTILE] };
    const json = safeJson(value);
    expect(json).not.toMatch(TERMINAL_CONTROL);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('the sidecar command with a peer that publishes escape sequences', { timeout: 60_000 }, () => {
  it('ls, watch and call print them escaped, errors included', async () => {
    const registry: RegistrySpec = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-escape-')), 'registry.db')}`;
    const watch = startCli(['watch', '--registry', registry]);
    await waitForOutput(watch, 'watching');

    // A record written straight to the registry: method names, host and metadata are hostile.
    const writer = await openRegistry(registry);
    await writer.register(
      {
        name: 'mallory',
        instanceId: 'i-mallory',
        namespace: 'default',
        endpoints: [{ transport: 'tcp', host: `127.0.0.1${HOSTILE}`, port: 9 }],
        methods: [`m${HOSTILE}`],
        metadata: { note: HOSTILE },
        registeredAt: Date.now(),
      },
      60_000,
    );

    // A real peer whose method fails with hostile text and returns hostile values.
    const peer = createSidecar({ name: 'hostile', registry, wrappers: [pillion()] });
    peer.to('*').provide('fail', async () => {
      throw new Error(`boom${HOSTILE}`);
    });
    peer.to('*').provide('value', async () => HOSTILE);
    peer.on('stream', () => {});
    await peer.start();
    try {
      const table = await runCli(['ls', '--registry', registry]);
      expect(table.code).toBe(0);
      expect(table.out).toContain('mallory');
      expect(table.out).toContain('\\x1b[2J');
      const json = await runCli(['ls', '--json', '--registry', registry]);
      expect(JSON.parse(json.out)).toContainEqual(expect.objectContaining({ metadata: { note: HOSTILE } }));

      const value = await runCli(['call', 'default://hostile/value', '--registry', registry]);
      expect(value.code).toBe(0);
      expect(JSON.parse(value.out)).toBe(HOSTILE);

      const failed = await runCli(['call', 'default://hostile/fail', '--registry', registry]);
      expect(failed.code).not.toBe(0);
      expect(failed.err).toContain('boom\\x1b[2J');

      const pattern = await runCli(['call', 'default://host?le/fail', '--registry', registry]);
      expect(pattern.out).toContain('boom');

      await waitForOutput(watch, 'mallory', 'out');
      expect(await interrupt(watch)).toBe(0);
      for (const run of [table, json, value, failed, pattern]) {
        expect(run.out).not.toMatch(TERMINAL_CONTROL);
        expect(run.err).not.toMatch(TERMINAL_CONTROL);
      }
      expect(watch.output().out).not.toMatch(TERMINAL_CONTROL);
      expect(watch.output().out).toContain('\\u202e');
    } finally {
      await peer.stop();
      await writer.stop();
    }
  });

  it("cat escapes a peer's bytes on a terminal, and passes them through to a pipe", async () => {
    const registry: RegistrySpec = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-escape-')), 'registry.db')}`;
    const peer = createSidecar({ name: 'bytes', registry });
    peer.on('stream', (stream) => stream.end(`title${HOSTILE}\n`));
    await peer.start();
    try {
      // Through a pipe: the bytes as they are (netcat semantics).
      const piped = await runCli(['cat', 'bytes', '--registry', registry]);
      expect(piped.out).toBe(`title${HOSTILE}\n`);
      // On a terminal (a real pty from util-linux `script`): escaped.
      const bin = join(dirname(fileURLToPath(import.meta.url)), '../src/bin.ts');
      const command = [
        process.execPath,
        '--import',
        'tsx',
        '--conditions=@sidecar/source',
        bin,
        'cat',
        'bytes',
      ]
        .map((a) => `'${a}'`)
        .join(' ');
      const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
        env: { ...process.env, NO_COLOR: '1', SIDECAR_REGISTRY: registry },
        timeout: 30_000,
      });
      expect(stdout).toContain('title\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m');
      expect(stdout.replace(/\r?\n/g, '')).not.toMatch(TERMINAL_CONTROL);
    } finally {
      await peer.stop();
    }
  });
});
