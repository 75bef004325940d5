import {
  createSidecar,
  InvalidConfigError,
  InvalidNameError,
  validateInstanceId,
  validateName,
  validateNamespace,
  validatePattern,
} from '@sidecar/core';
import { describe, expect, it } from 'vitest';

/** Names that read exactly like `billing` (or like each other) in `sidecar ls`. */
const LOOK_ALIKES: Array<[string, string]> = [
  ['bill\u200bing', 'U+200B'], // zero-width space
  ['bill\u200ding', 'U+200D'], // zero-width joiner
  ['\ufeffbilling', 'U+FEFF'], // byte order mark
  ['bill\u00ading', 'U+00AD'], // soft hyphen
  ['billing\u2060', 'U+2060'], // word joiner
  ['\u202egnillib', 'U+202E'], // right-to-left override: displays as "billing"
  ['bill\u2066ing\u2069', 'U+2066'], // left-to-right isolate
  ['billing\u061c', 'U+061C'], // Arabic letter mark
  ['billing\u180e', 'U+180E'], // Mongolian vowel separator
  ['billing\u3164', 'U+3164'], // Hangul filler
];

describe('names: look-alike makers are refused', () => {
  it('rejects invisible characters (default-ignorable code points and bidi controls) naming the code point', () => {
    for (const [name, cp] of LOOK_ALIKES) {
      expect(() => validateName(name), cp).toThrow(InvalidNameError);
      expect(() => validateName(name), cp).toThrow(cp);
      expect(() => validatePattern(`${name}*`), cp).toThrow(InvalidNameError);
    }
  });

  it('rejects input that is not NFC, and accepts its NFC form', () => {
    const decomposed = 'cafe\u0301'; // e + combining acute: displays as "café"
    expect(() => validateName(decomposed)).toThrow(/NFC/);
    expect(validateName(decomposed.normalize('NFC'))).toBe('caf\u00e9');
    expect(() => validateName('\u212b')).toThrow(InvalidNameError); // ANGSTROM SIGN, NFC is U+00C5
  });

  it('rejects names mixing Latin with Cyrillic or Greek letters, accepts each script alone', () => {
    expect(() => validateName('p\u0430ypal')).toThrow(/Latin and Cyrillic/); // Cyrillic а
    expect(() => validateName('\u03bfrders')).toThrow(/Latin and Greek/); // Greek ο
    for (const ok of ['сервис-1', 'αβγ', 'billing', 'ünï名前', 'worker_2', 'x.y:z', '名前-ok']) {
      expect(validateName(ok)).toBe(ok);
    }
  });

  it('reports the rule broken with a stable code', () => {
    try {
      validateName('bill\u200bing');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidNameError);
      expect((err as InvalidNameError).code).toBe('SIDECAR_ERR_INVALID_NAME');
      expect((err as Error).message).toMatch(/invisible character U\+200B/);
    }
  });
});

describe('namespaces follow the same rules', () => {
  it('rejects empty, NUL, control, escape, invisible, pattern and over-long namespaces', () => {
    const bad: unknown[] = [
      '',
      'a\u0000b',
      '\u0000',
      'ns\u001b[31m',
      'tab\t',
      'a/b',
      'a b',
      'ns\u200b',
      'ns*',
      'x'.repeat(256),
      'cafe\u0301',
      7,
    ];
    for (const ns of bad) {
      expect(() => validateNamespace(ns), JSON.stringify(ns)).toThrow(InvalidNameError);
      expect(() => validateNamespace(ns)).toThrow(/invalid namespace/);
    }
    for (const ns of ['default', 'prod', 'rel-x-1a2b', 'team:billing'])
      expect(validateNamespace(ns)).toBe(ns);
  });

  it('createSidecar refuses such a namespace from the config or SIDECAR_NAMESPACE, at the call', () => {
    for (const namespace of ['', 'a\u0000b', 'esc\u001b', 'zw\u200b']) {
      expect(() => createSidecar({ name: 'x', namespace }), JSON.stringify(namespace)).toThrow(
        InvalidConfigError,
      );
      expect(() => createSidecar({ name: 'x', env: { SIDECAR_NAMESPACE: namespace } })).toThrow(/namespace/);
    }
  });
});

describe('instance ids', () => {
  it('are 1-64 characters of base64url', () => {
    expect(validateInstanceId('AbC-12_x')).toBe('AbC-12_x');
    for (const bad of ['', 'a'.repeat(65), 'a b', 'id\u001b[2J', `${'\u001b'.repeat(5000)}`, 3, null]) {
      expect(() => validateInstanceId(bad)).toThrow(InvalidNameError);
    }
  });
});
