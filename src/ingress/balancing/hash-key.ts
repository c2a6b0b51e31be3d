import type { UpstreamConfig } from '../../config/schema.ts';
import { readCookie } from './cookies.ts';
import type { BalanceRequest } from './types.ts';

export type HashOn = UpstreamConfig['balance']['hashOn'];

/**
 * Reads the consistent-hash key from a request: a header, a cookie, a JWT claim or the client IP.
 * Undefined (or empty) means no key: the caller balances that request round robin instead.
 *
 * @example
 * const key = hashKey({ header: 'x-tenant' });
 * key({ headers: { 'x-tenant': 'acme' }, clientIp: '10.0.0.1', slots: {} }); // 'acme'
 */
export function hashKey(on: HashOn): (req: BalanceRequest) => string | undefined {
  const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  if ('header' in on) {
    const name = on.header.toLowerCase();
    return (req) => {
      const v = req.headers[name];
      return nonEmpty(Array.isArray(v) ? v.join(', ') : v);
    };
  }
  if ('cookie' in on) return (req) => nonEmpty(readCookie(req.headers.cookie, on.cookie));
  if ('claim' in on) {
    return (req) => {
      // The JWT policy will declare `claims` on ContextSlots; until then it is read structurally.
      const v = (req.slots as { claims?: Record<string, unknown> }).claims?.[on.claim];
      return typeof v === 'string' || typeof v === 'number' ? nonEmpty(String(v)) : undefined;
    };
  }
  return (req) => nonEmpty(req.clientIp);
}
