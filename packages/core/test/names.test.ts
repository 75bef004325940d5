import {
  InvalidNameError,
  isPattern,
  MAX_NAME_LENGTH,
  matchName,
  validateName,
  validatePattern,
} from '@sidecar/core';
import { describe, expect, it } from 'vitest';

describe('names', () => {
  it('accepts names of 1-255 characters, unicode and punctuation included', () => {
    for (const name of [
      'a',
      'billing',
      'worker-1',
      'ns:svc',
      '{tag}',
      'ünï名前',
      'it\'s"q"',
      'x'.repeat(MAX_NAME_LENGTH),
    ]) {
      expect(validateName(name)).toBe(name);
    }
  });

  it('rejects bad names with InvalidNameError, never mangling them', () => {
    const bad: unknown[] = [
      '',
      'a b',
      'a/b',
      'tab\there',
      'nl\n',
      'nul\u0000',
      'del\u007f',
      'c1\u0085',
      'x'.repeat(256),
      'star*',
      'q?',
      42,
      null,
      undefined,
      '\ud800',
    ];
    for (const name of bad) expect(() => validateName(name), String(name)).toThrow(InvalidNameError);
    try {
      validateName('a b');
    } catch (err) {
      expect((err as InvalidNameError).code).toBe('SIDECAR_ERR_INVALID_NAME');
      expect((err as Error).message).toContain('whitespace');
    }
  });

  it('counts characters, not UTF-16 units, against the length limit', () => {
    expect(validateName('😀'.repeat(255))).toHaveLength(510);
    expect(() => validateName('😀'.repeat(256))).toThrow(InvalidNameError);
  });

  it('allows * and ? in patterns only', () => {
    expect(validatePattern('worker-?')).toBe('worker-?');
    expect(isPattern('worker-?')).toBe(true);
    expect(isPattern('worker-1')).toBe(false);
    expect(() => validatePattern('a b*')).toThrow(InvalidNameError);
  });

  it('matches globs with every other character literal', () => {
    expect(matchName('*', 'anything')).toBe(true);
    expect(matchName('worker-?', 'worker-1')).toBe(true);
    expect(matchName('worker-?', 'worker-10')).toBe(false);
    expect(matchName('w*r', 'worker')).toBe(true);
    expect(matchName('a.b', 'axb')).toBe(false);
    expect(matchName('(x)+[y]{1}^$|\\', '(x)+[y]{1}^$|\\')).toBe(true);
    expect(matchName('名*', '名前')).toBe(true);
    expect(matchName('?', '😀')).toBe(true);
    expect(matchName('exact', 'exact')).toBe(true);
    expect(matchName('exact', 'exactly')).toBe(false);
  });
});
