import { DialPolicyError } from '@sidecar/core';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from '../src/exit-codes.js';

describe('exit codes', () => {
  it('every failure to reach a peer exits 3, whatever refused it', () => {
    for (const code of [
      'SIDECAR_ERR_PEER_NOT_FOUND',
      'SIDECAR_ERR_PEER_UNREACHABLE',
      'SIDECAR_ERR_NO_COMMON_TRANSPORT',
      'SIDECAR_ERR_HELLO_REFUSED',
      'SIDECAR_ERR_DIAL_FAILED',
      new DialPolicyError({ transport: 'tcp', host: '10.0.0.1', port: 7000 }, 'refused by the dial policy')
        .code,
    ]) {
      expect(exitCodeOf(code), code).toBe(EXIT.PEER);
    }
  });

  it('an unknown or missing code is a plain failure', () => {
    expect(exitCodeOf('SIDECAR_ERR_SOMETHING_NEW')).toBe(EXIT.FAILURE);
    expect(exitCodeOf(undefined)).toBe(EXIT.FAILURE);
  });
});
