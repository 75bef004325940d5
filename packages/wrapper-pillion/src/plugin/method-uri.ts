import { isPattern, validatePattern } from '@sidecar/core';
import { InvalidMethodUriError } from '../errors.js';

/** The parts of a method URI `namespace://peer/method`. */
export interface MethodUri {
  namespace: string;
  /** A peer name, or a pattern with `*` / `?`. */
  peer: string;
  method: string;
  /** True when `peer` is a pattern (the call goes to every matching peer). */
  pattern: boolean;
}

const URI = /^([^:/\s]+):\/\/([^/]+)\/([\s\S]+)$/;

/**
 * Parses `namespace://peer/method`. The method is everything after the first `/` following the
 * peer part (it may itself contain `/`). Throws InvalidMethodUriError, or InvalidNameError for
 * a bad peer name or pattern.
 *
 * @example
 * ```ts
 * parseMethodUri('default://worker-?/resize'); // { namespace: 'default', peer: 'worker-?', method: 'resize', pattern: true }
 * ```
 */
export function parseMethodUri(uri: string): MethodUri {
  if (typeof uri !== 'string') throw new InvalidMethodUriError(String(uri), 'a method URI is a string');
  const match = URI.exec(uri);
  if (!match)
    throw new InvalidMethodUriError(uri, 'expected namespace://peer/method, e.g. default://billing/charge');
  const [, namespace, peer, method] = match as unknown as [string, string, string, string];
  validatePattern(peer);
  return { namespace, peer, method, pattern: isPattern(peer) };
}
