import { isIP } from 'node:net';
import { InvalidConfigError } from '../errors.js';

/** A parsed network: address family, network bits as a bigint, and prefix length. */
export interface Network {
  readonly family: 4 | 6;
  readonly bits: bigint;
  readonly prefix: number;
  /** The text it was parsed from (`10.0.0.0/8`). */
  readonly text: string;
}

function ipv4Bits(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Bits(address: string): bigint {
  let text = address.split('%')[0] as string;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted) {
    const v4 = ipv4Bits(dotted);
    text = `${text.slice(0, -dotted.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (s: string) => (s ? s.split(':').map((p) => BigInt(`0x${p}`)) : []);
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const all =
    rest === undefined
      ? left
      : [...left, ...Array<bigint>(8 - left.length - right.length).fill(0n), ...right];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** The numeric value of an IP address literal, or undefined for a host name. */
export function addressBits(address: string): { family: 4 | 6; bits: bigint } | undefined {
  const family = isIP(address.split('%')[0] ?? '');
  if (family === 4) return { family: 4, bits: ipv4Bits(address) };
  if (family === 6) {
    const bits = ipv6Bits(address);
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address it maps.
    if (bits >> 32n === 0xffffn) return { family: 4, bits: bits & 0xffffffffn };
    return { family: 6, bits };
  }
  return undefined;
}

/**
 * Parses `10.0.0.0/8`, `fd00::/8` or a single address (a /32 or /128). Throws InvalidConfigError
 * on anything else.
 */
export function parseNetwork(text: string): Network {
  const [address = '', prefixText] = text.trim().split('/');
  const parsed = addressBits(address);
  if (!parsed)
    throw new InvalidConfigError(
      `invalid network ${JSON.stringify(text)}: expected an address or CIDR like 10.0.0.0/8`,
    );
  const width = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > width ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    throw new InvalidConfigError(`invalid network ${JSON.stringify(text)}: the prefix must be 0-${width}`);
  }
  const shift = BigInt(width - prefix);
  return { family: parsed.family, bits: (parsed.bits >> shift) << shift, prefix, text };
}

/** True when the IP address literal `address` lies inside `network` (a host name never does). */
export function inNetwork(address: string, network: Network): boolean {
  const parsed = addressBits(address);
  if (!parsed || parsed.family !== network.family) return false;
  const shift = BigInt((network.family === 4 ? 32 : 128) - network.prefix);
  return (parsed.bits >> shift) << shift === network.bits;
}

const UNSPECIFIED_V4 = parseNetwork('0.0.0.0/8');
const BROADCAST_V4 = parseNetwork('255.255.255.255/32');
const MULTICAST_V4 = parseNetwork('224.0.0.0/4');
const UNSPECIFIED_V6 = parseNetwork('::/128');
const MULTICAST_V6 = parseNetwork('ff00::/8');

/**
 * Why an address can never be a peer's (`'unspecified'`, `'broadcast'`, `'multicast'`), or
 * undefined when it may be dialled. Host names are not judged here (see the dial policy).
 */
export function undialableReason(address: string): string | undefined {
  if (inNetwork(address, UNSPECIFIED_V4) || inNetwork(address, UNSPECIFIED_V6))
    return `${address} is an unspecified address`;
  if (inNetwork(address, BROADCAST_V4)) return `${address} is a broadcast address`;
  if (inNetwork(address, MULTICAST_V4) || inNetwork(address, MULTICAST_V6))
    return `${address} is a multicast address`;
  return undefined;
}
