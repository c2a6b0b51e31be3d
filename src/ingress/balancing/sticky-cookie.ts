import { type CookieOptions, readCookie, setCookie } from './cookies.ts';
import { roundRobin } from './round-robin.ts';
import type { Candidate, Strategy } from './types.ts';

export interface StickyOptions extends CookieOptions {
  /** Cookie name; `jx_affinity` in the schema's defaults. */
  name: string;
}

/**
 * Sticky sessions by cookie (Q36; HAProxy `cookie … insert`, Envoy's stateful session): the gateway
 * names the chosen target's id in a cookie, and a request that brings back the id of a target in
 * rotation goes there. Without the cookie, or when its target is unknown or down, the request is
 * balanced round robin and the cookie re-set. The id is an opaque hash of the origin; a client that
 * forges one can only choose among targets that are up anyway.
 *
 * @example
 * const sticky = stickyCookie(targets, { name: 'jx_affinity' });
 * sticky.pick(ctx, isUp); // { target, setCookie: 'jx_affinity=3f2a…; Path=/; HttpOnly; SameSite=Lax' }
 */
export function stickyCookie<T extends Candidate>(
  targets: readonly T[],
  options: StickyOptions,
): Strategy<T> {
  const byId = new Map(targets.map((t) => [t.id, t]));
  const fallback = roundRobin(targets);
  return {
    pick(req, isUp) {
      const id = readCookie(req.headers.cookie, options.name);
      const pinned = id === undefined ? undefined : byId.get(id);
      if (pinned !== undefined && isUp(pinned)) return { target: pinned };
      const target = fallback.next(isUp);
      if (target === undefined) return undefined;
      return { target, setCookie: setCookie(options.name, target.id, options) };
    },
  };
}
