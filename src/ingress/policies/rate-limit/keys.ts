/**
 * What a limit counts by: compiled once per route into a function from the request to a key
 * string, or `undefined` when the limit does not apply (a part is missing and `missingKey: skip`).
 * Parts read `ctx.clientIp`, the auth policies' `ctx.slots.principal` / `ctx.slots.claims` (list
 * core.rate-limit after them), headers and the route name.
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../../core/policy.ts';
import type { KeyPartConfig, LimitConfig } from './schema.ts';

export type KeyOf = (ctx: RequestContext) => string | undefined;

type PartOf = (ctx: RequestContext) => string | undefined;

/** Keys longer than this are hashed, so a 16 KiB header cannot make a 16 KiB Redis key. */
const MAX_RAW = 128;

function scalar(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function part(p: KeyPartConfig): PartOf {
  if (p === 'ip') return (ctx) => ctx.clientIp;
  if (p === 'principal') return (ctx) => ctx.slots.principal?.id;
  if (p === 'route') return (ctx) => ctx.routeName;
  if ('header' in p) {
    const name = p.header.toLowerCase();
    return (ctx) => {
      const v = ctx.headers[name];
      return scalar(Array.isArray(v) ? v.join(',') : v);
    };
  }
  const claim = p.claim;
  return (ctx) => scalar(ctx.slots.claims?.[claim] ?? ctx.slots.principal?.attributes[claim]);
}

function bounded(key: string): string {
  return key.length <= MAX_RAW ? key : `#${createHash('sha256').update(key).digest('base64url')}`;
}

/**
 * @example
 * const keyOf = compileKey({ key: ['ip', { header: 'x-tenant' }], missingKey: 'shared' });
 * keyOf(ctx); // '9:127.0.0.1|4:acme'
 */
export function compileKey(limit: Pick<LimitConfig, 'key' | 'missingKey'>): KeyOf {
  const parts = (Array.isArray(limit.key) ? limit.key : [limit.key]).map(part);
  const missing = limit.missingKey;
  const fill = (ctx: RequestContext): string | undefined =>
    missing === 'skip' ? undefined : missing === 'ip' ? `ip:${ctx.clientIp}` : '-';
  if (parts.length === 1) {
    const only = parts[0]!;
    return (ctx) => {
      const v = only(ctx) ?? fill(ctx);
      return v === undefined ? undefined : bounded(v);
    };
  }
  // Length-prefixed parts: ['a|b', 'c'] and ['a', 'b|c'] never make the same key.
  return (ctx) => {
    let key = '';
    for (const p of parts) {
      const v = p(ctx) ?? fill(ctx);
      if (v === undefined) return undefined;
      key += `${key === '' ? '' : '|'}${v.length}:${v}`;
    }
    return bounded(key);
  };
}
