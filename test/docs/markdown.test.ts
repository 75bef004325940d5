import { describe, expect, it } from 'vitest';
import { parseBlocks } from './markdown.js';

describe('the doc-test block parser', () => {
  it('reads languages, flags and bodies, and says what runs', () => {
    const md = [
      '# t',
      '```js server',
      "console.log('up');",
      '```',
      '```ts no-run',
      'fragment(',
      '```',
      '```sh',
      'npm i sidecar',
      '```',
      '```sh run',
      'npx sidecar --help',
      '```',
      '- a list item:',
      '  ```cjs',
      "  require('sidecar');",
      '  ```',
      '```',
      'plain text',
      '```',
    ].join('\n');
    const blocks = parseBlocks(md, 'x.md');
    expect(blocks.map((b) => [b.line, b.lang, b.kind, b.server])).toEqual([
      [2, 'js', 'node-esm', true],
      [5, 'ts', 'skip', false],
      [8, 'sh', 'skip', false],
      [11, 'sh', 'shell', false],
      [15, 'cjs', 'node-cjs', false],
      [18, '', 'skip', false],
    ]);
    expect(blocks[4]?.code).toBe("require('sidecar');\n");
  });
});
