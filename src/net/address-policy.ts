import { isIP } from 'node:net';

/**
 * Classifies an IP address for the SSRF policy of `safeFetch`: only `public` addresses may be fetched unless
 * the caller allows private ones. IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
 * IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are classified by the IPv4 address they
 * reach, so `::ffff:127.0.0.1` is loopback.
 */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'unspecified'
  | 'reserved'
  | 'invalid';

/** IPv4 ranges that are not the public internet: [first octets as a 32-bit base, prefix length, class]. */
const IPV4_RANGES: ReadonlyArray<readonly [string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT (shared address space)
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // includes the cloud metadata address 169.254.169.254
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // documentation
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'reserved'], // documentation
  ['203.0.113.0', 24, 'reserved'], // documentation
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // future use + 255.255.255.255 broadcast
];

function ipv4ToInt(ip: string): number {
  const parts = ip.split('.');
  let n = 0;
  for (const p of parts) n = n * 256 + Number(p);
  return n >>> 0;
}

const IPV4_TABLE = IPV4_RANGES.map(([base, bits, cls]) => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ipv4ToInt(base) & mask) >>> 0, mask, cls };
});

function classifyIpv4Int(n: number): AddressClass {
  for (const r of IPV4_TABLE) if (((n & r.mask) >>> 0) === r.base) return r.cls;
  return 'public';
}

/** Parses an IPv6 text form (with `::`, an optional trailing dotted quad, an optional `%zone`) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array | null {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (isIP(s) !== 6) return null;
  const words: number[] = [];
  const pushGroups = (part: string, into: number[]): boolean => {
    if (part === '') return true;
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        if (isIP(g) !== 4) return false;
        const v = ipv4ToInt(g);
        into.push(v >>> 16, v & 0xffff);
      } else {
        into.push(parseInt(g, 16));
      }
    }
    return true;
  };
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    const head: number[] = [];
    const tail: number[] = [];
    if (!pushGroups(s.slice(0, dbl), head) || !pushGroups(s.slice(dbl + 2), tail)) return null;
    words.push(...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail);
  } else if (!pushGroups(s, words)) return null;
  if (words.length !== 8) return null;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >>> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

function bytesToIpv4Int(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function classifyIpv6(b: Uint8Array): AddressClass {
  if (allZero(b, 0, 16)) return 'unspecified';
  if (allZero(b, 0, 15) && b[15] === 1) return 'loopback';
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated): the IPv4 address decides.
  if (allZero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return classifyIpv4Int(bytesToIpv4Int(b, 12));
  if (allZero(b, 0, 12)) return classifyIpv4Int(bytesToIpv4Int(b, 12));
  // 64:ff9b::/96 NAT64 well-known prefix.
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && allZero(b, 4, 12)) {
    return classifyIpv4Int(bytesToIpv4Int(b, 12));
  }
  // 2002::/16 6to4: the IPv4 address sits in bytes 2..5.
  if (b[0] === 0x20 && b[1] === 0x02) return classifyIpv4Int(bytesToIpv4Int(b, 2));
  if (b[0] === 0xff) return 'multicast';
  if ((b[0]! & 0xfe) === 0xfc) return 'unique-local'; // fc00::/7
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local'; // fe80::/10
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'private'; // fec0::/10 site-local (deprecated)
  if (b[0] === 0x01 && b[1] === 0x00 && allZero(b, 2, 8)) return 'reserved'; // 100::/64 discard
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return 'reserved'; // 2001:db8::/32 docs
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return 'reserved'; // 2001::/32 Teredo
  return 'public';
}

/** The class of an IPv4 or IPv6 address text; `invalid` when it is neither. */
export function classifyAddress(address: string): AddressClass {
  const kind = isIP(address.split('%')[0]!.replace(/^\[|\]$/g, ''));
  if (kind === 4) return classifyIpv4Int(ipv4ToInt(address));
  if (kind === 6) {
    const b = parseIpv6(address);
    return b ? classifyIpv6(b) : 'invalid';
  }
  return 'invalid';
}

/** True when `safeFetch` may connect to this address without `allowPrivate`. */
export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === 'public';
}
