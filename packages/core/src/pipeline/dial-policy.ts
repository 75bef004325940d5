import { DialPolicyError } from '../errors.js';
import type { Endpoint } from '../records.js';
import { inNetwork, type Network, parseNetwork, undialableReason } from '../util/cidr.js';
import { LruMap } from '../util/lru-map.js';

/** The built-in rule's verdict per host ('' for allowed): records name the same hosts again and again. */
const verdicts = new LruMap<string, string>(4096);

function builtInVerdict(host: string): string | undefined {
  let verdict = verdicts.get(host);
  if (verdict === undefined) {
    verdict = undialableReason(host) ?? '';
    verdicts.set(host, verdict);
  }
  return verdict || undefined;
}

/**
 * Decides whether an endpoint read from the registry may be dialled: return `false` to skip it.
 * Runs after the built-in rule (never an unspecified, broadcast or multicast address).
 */
export type DialPolicy = (endpoint: Endpoint) => boolean;

/**
 * A dial policy that allows only addresses inside the given networks (CIDRs or single addresses,
 * IPv4 or IPv6). Host names are refused: list addresses, or write your own policy for names.
 *
 * @example
 * ```ts
 * createSidecar({ name: 'billing', registry: 'redis://10.0.0.2', dialPolicy: allowNetworks('10.0.0.0/8', '127.0.0.1') });
 * ```
 */
export function allowNetworks(...networks: string[]): DialPolicy {
  const parsed: Network[] = networks.map(parseNetwork);
  return (endpoint) => parsed.some((n) => inNetwork(endpoint.host, n));
}

/**
 * Returns the DialPolicyError that forbids dialling `endpoint`, or undefined when it may be
 * dialled: the built-in rule first, then the configured policy (a throwing policy refuses).
 */
export function checkDialPolicy(
  endpoint: Endpoint,
  policy: DialPolicy | undefined,
): DialPolicyError | undefined {
  const forbidden = builtInVerdict(endpoint.host);
  if (forbidden) return new DialPolicyError(endpoint, `${forbidden}, never a peer's`);
  if (!policy) return undefined;
  let allowed: boolean;
  try {
    allowed = policy(endpoint);
  } catch (err) {
    return new DialPolicyError(endpoint, `the dialPolicy threw (${(err as Error).message})`);
  }
  return allowed ? undefined : new DialPolicyError(endpoint, 'the dialPolicy refuses it');
}
