/**
 * What a proxy changes in the headers it relays (Q37):
 * - hop-by-hop fields are removed in both directions (RFC 9110 §7.6.1): the fixed list plus every
 *   field named in `Connection`;
 * - `Via` gets our hop (RFC 9110 §7.6.3);
 * - the client's address, scheme and host are passed on as RFC 7239 `Forwarded` and/or the de-facto
 *   `X-Forwarded-For/-Proto/-Host`. Incoming copies are dropped unless the peer is a trusted proxy,
 *   otherwise any client could claim any address.
 */
import { BlockList, isIPv6 } from 'node:net';

/** RFC 9110 §7.6.1, plus the obsolete `Proxy-Connection` and `Keep-Alive` that clients still send. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * List-valued response fields where the gateway's values join the upstream's instead of replacing
 * them: a deprecation `Link` must not erase the upstream's pagination links (RFC 8288 §3). Sent as
 * separate lines, which is the same list (RFC 9110 §5.3).
 */
const MERGED = new Set(['link', 'set-cookie']);

const FORWARDING = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
]);

export type ForwardedMode = 'forwarded' | 'x-forwarded' | 'both' | 'none';

export interface ForwardingOptions {
  mode: ForwardedMode;
  /** Undefined when no proxy is trusted. */
  trusted: BlockList | undefined;
  /** `1.1 <via>`; empty string leaves Via alone. */
  via: string;
  requestIdHeader: string;
}

export function trustedProxies(list: string[]): BlockList | undefined {
  if (list.length === 0) return undefined;
  const b = new BlockList();
  for (const entry of list) {
    const [addr, bits] = entry.split('/');
    const type = isIPv6(addr!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) b.addAddress(addr!, type);
    else b.addSubnet(addr!, Number(bits), type);
  }
  return b;
}

function isTrusted(trusted: BlockList | undefined, ip: string): boolean {
  // No trusted proxies (the default) skips the address parsing on every request.
  if (trusted === undefined || ip === '') return false;
  return trusted.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
}

/** Field names listed in `Connection`, which are hop-by-hop for this message only. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const set = new Set<string>();
  for (const t of text.split(',')) {
    const name = t.trim().toLowerCase();
    if (name) set.add(name);
  }
  return set;
}

/** RFC 7239 §6: IPv6 `for=` values are bracketed and quoted. */
function forwardedNode(ip: string): string {
  return isIPv6(ip) ? `"[${ip}]"` : ip;
}

function forwardedValue(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export interface ForwardInput {
  headers: Record<string, string | string[] | undefined>;
  peerIp: string;
  protocol: 'http' | 'https';
  host: string;
  requestId: string;
  /** Set when the client's Host goes upstream; otherwise undici sends the target's. */
  preserveHost: boolean;
  extra: Record<string, string>;
}

/**
 * Headers for the upstream request as undici's flat `[name, value, …]` array.
 */
export function upstreamRequestHeaders(input: ForwardInput, opts: ForwardingOptions): string[] {
  const { headers } = input;
  const out: string[] = [];
  const dropNamed = connectionTokens(headers.connection);
  const trusted = isTrusted(opts.trusted, input.peerIp);
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || dropNamed?.has(name) || name in input.extra) continue;
    if (name === 'host' && !input.preserveHost) continue;
    // Node already answered `Expect: 100-continue` on this hop (it sends the 100 before the request
    // event), and undici refuses the field outright (UND_ERR_NOT_SUPPORTED), so it stops here.
    if (name === 'expect') continue;
    if (name === opts.requestIdHeader) continue;
    // Headers in Junction's namespace carry what the gateway vouches for (the principal, its roles):
    // a client's own copies never reach an upstream, whatever the route does.
    if (name.startsWith('x-junction-')) continue;
    if (FORWARDING.has(name) && (!trusted || opts.mode === 'none')) continue;
    if (name === 'via' || name === 'x-forwarded-for' || name === 'forwarded') continue; // appended below
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) out.push(name, item);
    else out.push(name, v);
  }
  if (opts.mode === 'x-forwarded' || opts.mode === 'both') {
    const prior = trusted ? joined(headers['x-forwarded-for']) : undefined;
    out.push('x-forwarded-for', prior ? `${prior}, ${input.peerIp}` : input.peerIp);
    if (!(trusted && headers['x-forwarded-proto'])) out.push('x-forwarded-proto', input.protocol);
    if (!(trusted && headers['x-forwarded-host'])) out.push('x-forwarded-host', input.host);
  }
  if (opts.mode === 'forwarded' || opts.mode === 'both') {
    const prior = trusted ? joined(headers.forwarded) : undefined;
    const hop = `for=${forwardedNode(input.peerIp)};proto=${input.protocol};host=${forwardedValue(input.host)}`;
    out.push('forwarded', prior ? `${prior}, ${hop}` : hop);
  }
  if (opts.via) {
    const prior = joined(headers.via);
    out.push('via', prior ? `${prior}, 1.1 ${opts.via}` : `1.1 ${opts.via}`);
  } else if (headers.via !== undefined) {
    out.push('via', joined(headers.via)!);
  }
  out.push(opts.requestIdHeader, input.requestId);
  // An empty value in `extra` means "remove this header" (a policy's way to drop one).
  for (const name in input.extra) if (input.extra[name] !== '') out.push(name, input.extra[name]!);
  return out;
}

function joined(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Response headers for the client as Node's flat `writeHead` array: hop-by-hop removed, our Via and
 * request id added, then the policies' extra headers (which win over the upstream's, except the
 * list-valued ones in `MERGED`, which join them).
 */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  extra: Record<string, string>,
  requestId: string,
  opts: ForwardingOptions,
): string[] {
  const out: string[] = [];
  const dropNamed = connectionTokens(upstream.connection);
  for (const name in upstream) {
    if (HOP_BY_HOP.has(name) || dropNamed?.has(name) || name === 'via') continue;
    if (name in extra && !MERGED.has(name)) continue;
    const v = upstream[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) out.push(name, item);
    else out.push(name, v);
  }
  if (opts.via) {
    const prior = joined(upstream.via);
    out.push('via', prior ? `${prior}, 1.1 ${opts.via}` : `1.1 ${opts.via}`);
  } else if (upstream.via !== undefined) {
    out.push('via', joined(upstream.via)!);
  }
  if (!(opts.requestIdHeader in extra)) out.push(opts.requestIdHeader, requestId);
  for (const name in extra) out.push(name, extra[name]!);
  return out;
}

/** The client's address: the peer, or when the peer is a trusted proxy, the last untrusted X-Forwarded-For hop. */
export function clientAddress(
  peerIp: string,
  xff: string | string[] | undefined,
  trusted: BlockList | undefined,
): string {
  if (!isTrusted(trusted, peerIp) || xff === undefined) return peerIp;
  const hops = joined(xff)!
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!isTrusted(trusted, hops[i]!)) return hops[i]!;
  }
  return hops[0] ?? peerIp;
}
