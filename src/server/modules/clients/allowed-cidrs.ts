import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { ProblemCollector } from '../../errors.js';
import { ALLOWED_CIDRS_MAX } from '../../../shared/limits.js';

const EXPECTED = 'must be a CIDR range such as 10.0.0.0/8 or 2001:db8::/32, or a single address';

interface Range {
  readonly family: 'ipv4' | 'ipv6';
  readonly network: string;
  readonly prefix: number;
}

/** The address as a number and its width in bits; IPv6 through the URL parser, which also compresses it (RFC 5952). */
function addressBits(address: string, family: 'ipv4' | 'ipv6'): bigint {
  if (family === 'ipv4') return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
  const compressed = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const [head = '', tail = ''] = compressed.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const known = [...groups(head), ...groups(tail)];
  const all = compressed.includes('::') ? [...groups(head), ...Array<string>(8 - known.length).fill('0'), ...groups(tail)] : known;
  return all.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function formatBits(bits: bigint, family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 255n)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((bits >> shift) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/** One entry as a canonical range, or the reason it is not one. */
function parseRange(text: string): Range | string {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined || address.includes('%')) return EXPECTED;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (family === null) return EXPECTED;
  const width = family === 'ipv4' ? 32 : 128;
  // A bare address is that one address: /32 or /128.
  if (prefixText !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return EXPECTED;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (prefix > width) return `has a prefix length over ${width}, the most an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} range can have`;
  const bits = addressBits(address, family);
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(width - prefix);
  const network = formatBits(bits & mask, family);
  if ((bits & mask) !== bits) return `has host bits set: did you mean ${network}/${prefix}?`;
  return { family, network, prefix };
}

/**
 * The allowlist as stored: each entry checked (a problem on `field[index]` otherwise), written
 * canonically (`10.0.0.0/8`, compressed lower-case IPv6, a bare address with /32 or /128) and
 * without repeats. Undefined when none was asked for.
 */
export function checkAllowedCidrs(input: unknown, field: string, problems: ProblemCollector): string[] | undefined {
  if (input === undefined) return undefined;
  if (!Array.isArray(input)) {
    problems.add(field, 'must be a list of CIDR ranges (empty: anywhere)');
    return undefined;
  }
  if (input.length > ALLOWED_CIDRS_MAX) {
    problems.add(field, `must list at most ${ALLOWED_CIDRS_MAX} ranges`);
    return undefined;
  }
  const canonical: string[] = [];
  input.forEach((entry: unknown, index) => {
    const range = typeof entry === 'string' && entry.length <= 64 ? parseRange(entry) : EXPECTED;
    if (typeof range === 'string') problems.add(`${field}[${index}]`, range);
    else canonical.push(`${range.network}/${range.prefix}`);
  });
  return [...new Set(canonical)];
}

/**
 * The matcher of a stored allowlist, built once per cached client state; null when the list is
 * empty (anywhere), so such a client pays nothing on its requests.
 */
export function allowedAddressesOf(stored: string): BlockList | null {
  const ranges = JSON.parse(stored) as string[];
  if (ranges.length === 0) return null;
  const list = new BlockList();
  for (const range of ranges) {
    const [network = '', prefix = ''] = range.split('/');
    list.addSubnet(network, Number(prefix), isIPv4(network) ? 'ipv4' : 'ipv6');
  }
  return list;
}

/**
 * Whether `address` (the caller as the trusted proxies give it) may use a client with this
 * allowlist. An IPv4 caller reaching a dual-stack listener shows as `::ffff:a.b.c.d`; BlockList
 * matches it against the IPv4 ranges.
 */
export function addressAllowed(allowed: BlockList | null, address: string): boolean {
  if (allowed === null) return true;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  return family !== null && allowed.check(address, family);
}
