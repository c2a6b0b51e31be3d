/**
 * Checks an endpoint URL when it is created or changed (DESIGN.md "Promises": customer URLs cannot
 * reach private or loopback addresses unless config allows them). This is the early, friendly
 * refusal; the delivery itself checks again on the resolved addresses at connect time
 * (src/events/destinations/address-guard.ts), which also defeats DNS rebinding. A name that does not
 * resolve yet is accepted here: the connect-time check still applies to whatever it resolves to later.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { JunctionError } from '../core/errors.ts';
// The guard's predicate, not re-exported by the destinations index (which exports destinations).
import { isForbiddenAddress } from '../events/destinations/address-guard.ts';
import { WebhookUrlForbidden, WebhookUrlInvalid } from './errors.ts';
import type { WebhookSettings } from './settings.ts';

export type Resolver = (host: string) => Promise<string[]>;

const defaultResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Throws `webhook_url_invalid` or `webhook_url_forbidden`; returns the URL normalized.
 * @example
 * const url = await checkEndpointUrl(body.url, settings);
 */
export async function checkEndpointUrl(
  raw: string,
  settings: Pick<WebhookSettings, 'allowPrivateNetworks' | 'allowHosts' | 'httpsOnly'>,
  resolve: Resolver = defaultResolver,
): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new JunctionError(WebhookUrlInvalid, `${JSON.stringify(raw)} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && (url.protocol !== 'http:' || settings.httpsOnly)) {
    throw new JunctionError(
      WebhookUrlInvalid,
      `endpoint URLs must be ${settings.httpsOnly ? 'https' : 'http(s)'}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new JunctionError(WebhookUrlInvalid, 'put credentials in the endpoint headers, not in the URL');
  }
  if (url.hash !== '') throw new JunctionError(WebhookUrlInvalid, 'an endpoint URL has no fragment');
  if (settings.allowPrivateNetworks) return url.href;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const allowed = allowList(settings.allowHosts);
  if (allowed.names.has(host)) return url.href;
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      return url.href;
    }
  }
  for (const address of addresses) {
    if (isForbiddenAddress(address) && !allowed.check(address)) {
      const shown = address === host ? host : `${host} (${address})`;
      throw new JunctionError(
        WebhookUrlForbidden,
        `${shown} is a loopback, private or reserved address; allow it with webhooks.allowHosts`,
      );
    }
  }
  return url.href;
}

/**
 * Whether deliveries to this URL may dial non-public addresses: all of them may with
 * `allowPrivateNetworks`; otherwise a URL whose host is listed in `allowHosts` (by name, or an IP
 * literal inside a listed address or range). Everything else goes through the connect-time guard.
 */
export function privateAllowed(
  raw: string,
  settings: Pick<WebhookSettings, 'allowPrivateNetworks' | 'allowHosts'>,
) {
  if (settings.allowPrivateNetworks) return true;
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const allowed = allowList(settings.allowHosts);
  return allowed.names.has(host) || (isIP(host) !== 0 && allowed.check(host));
}

interface AllowList {
  names: Set<string>;
  check(address: string): boolean;
}

const lists = new WeakMap<readonly string[], AllowList>();

function allowList(entries: readonly string[]): AllowList {
  let list = lists.get(entries);
  if (list !== undefined) return list;
  const names = new Set<string>();
  const ranges = new BlockList();
  for (const entry of entries) {
    const [net, bits] = entry.split('/');
    const family = isIP(net ?? '');
    if (family === 0) names.add(entry.toLowerCase());
    else if (bits === undefined) ranges.addAddress(net!, family === 4 ? 'ipv4' : 'ipv6');
    else ranges.addSubnet(net!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  }
  list = {
    names,
    check: (address) => ranges.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6'),
  };
  lists.set(entries, list);
  return list;
}
