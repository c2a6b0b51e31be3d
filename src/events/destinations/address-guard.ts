/**
 * Server-side request forgery guard for customer-supplied webhook URLs (DESIGN.md "Promises": they
 * cannot reach private or loopback addresses unless config allows it). The check runs when the socket
 * is dialled — on the resolved addresses, not on the URL's host name — so a name that resolves to
 * 10.0.0.5, or that changes its answer between a check and the connect (DNS rebinding), is still
 * caught. Svix's `NonLocalDnsResolver` and Convoy's dialer `Control` hook do the same.
 *
 * The ranges are the IANA special-purpose registries (RFC 6890 and its updates) that are not globally
 * reachable, plus multicast. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is judged by the IPv4
 * address it carries (BlockList checks it against the IPv4 rules; listing ::ffff:0:0/96 would block
 * every IPv4 address); NAT64 and 6to4 ranges, which also carry IPv4, are refused as a whole.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // RFC 6598 shared address space (carrier-grade NAT)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, including cloud metadata at 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments, Teredo
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

export const ADDRESS_FORBIDDEN = 'JUNCTION_ADDRESS_FORBIDDEN';

/** True for an IP address a webhook must not be sent to. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export function forbiddenAddressError(host: string, address: string): Error {
  const shown = host === address ? address : `${host} (${address})`;
  return Object.assign(new Error(`${shown} is a private, loopback or reserved address`), {
    code: ADDRESS_FORBIDDEN,
  });
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `dns.lookup` replacement for `net.connect({ lookup })` that drops forbidden addresses from the
 * answer and fails when none is left. Node calls it with `all: true` when it races address families.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const allowed = addresses.filter((a) => !isForbiddenAddress(a.address));
    const first = allowed[0];
    if (first === undefined) {
      return callback(forbiddenAddressError(hostname, addresses[0]?.address ?? hostname), []);
    }
    if (options.all) callback(null, allowed);
    else callback(null, first.address, first.family);
  });
}
