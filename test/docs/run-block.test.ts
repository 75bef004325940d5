import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runToEnd, startBackground } from './run-block.js';

const options = { cwd: tmpdir(), env: process.env };

describe('the doc-test runner catches blocks that misbehave', () => {
  it('a block that never exits is killed and reported as such', async () => {
    const run = await runToEnd(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      ...options,
      timeoutMs: 1000,
    });
    expect(run.timedOut).toBe(true);
  });

  it('a failing block reports its exit code and output', async () => {
    const run = await runToEnd(process.execPath, ['-e', 'console.error("boom"); process.exit(3)'], options);
    expect(run).toMatchObject({ code: 3, timedOut: false, err: 'boom\n' });
  });

  it('a server block that exits before it is ready fails; one that ignores SIGTERM is caught', async () => {
    await expect(startBackground(process.execPath, ['-e', 'process.exit(1)'], options)).rejects.toThrow(
      /exited \(1\) before printing a line/,
    );
    const stubborn = await startBackground(
      process.execPath,
      ['-e', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)'],
      options,
    );
    const end = await stubborn.stop(1000);
    expect(end.timedOut).toBe(true);
  });
});
