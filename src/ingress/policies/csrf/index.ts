/**
 * `auth.csrf` (Q38): cookie-authenticated state changes must come from this site. A browser attaches
 * cookies to requests any page makes, so for unsafe methods (RFC 9110 §9.2.1: anything but GET, HEAD,
 * OPTIONS, TRACE) carrying a `Cookie` the policy requires both:
 *
 * 1. an `Origin` that is the gateway's own or an allowed one — else `Sec-Fetch-Site` must not be
 *    `cross-site`/`same-site` (origin.ts);
 * 2. a signed double-submit token: the `x-csrf-token` header equal to the `__Host-jx_csrf` cookie and
 *    carrying a valid HMAC bound to the session (token.ts).
 *
 * Why this approach (OWASP CSRF Prevention Cheat Sheet): the session is server-side, but a
 * synchronizer token would need a store write per session and a way for the page to fetch it; the
 * signed double-submit cookie is stateless, works on every node with one shared secret, and binding
 * it to the session id defeats cookie tossing. SameSite=Lax on the session cookie already stops most
 * cross-site POSTs; the token and the header checks are the defence in depth the cheat sheet asks for.
 *
 * Safe requests pass untouched; if their token cookie is missing or bound to another session, a new
 * one is set on the (proxied) response and handed to the upstream as `x-junction-csrf-token` so
 * server-rendered pages can embed it. `tokenPath` answers `{ token }` for single-page apps.
 */
import { JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv, type RequestContext } from '../../../core/policy.ts';
import { CsrfRejected } from './errors.ts';
import { crossSiteReason, ownOrigin } from './origin.ts';
import { type CsrfConfig, csrfSchema } from './schema.ts';
import { bindingOf, mintToken, sameToken, tokenValid } from './token.ts';

export { CsrfRejected } from './errors.ts';
export { crossSiteReason } from './origin.ts';
export type { CsrfConfig } from './schema.ts';

declare module '../../../core/policy.ts' {
  interface ContextSlots {
    /** A CSRF token `auth.csrf` minted for this response's Set-Cookie. */
    csrfToken: string;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const UPSTREAM_HEADER = 'x-junction-csrf-token';

function cookie(ctx: RequestContext, name: string): string | undefined {
  const header = ctx.headers.cookie;
  if (header === undefined || !header.includes(name)) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * @example
 * const p = csrfPolicy(Value.Default(csrfSchema, { secret: process.env.CSRF_SECRET }), env);
 */
export function csrfPolicy(config: CsrfConfig, env: PolicyEnv): Policy {
  const key = Buffer.from(config.secret.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const allowed = new Set(config.allowedOrigins);
  const header = config.headerName.toLowerCase();
  // Readable by the page's script (no HttpOnly): that is how the token gets into the header.
  const setCookie = (token: string) => `${config.cookieName}=${token}; Path=/; Secure; SameSite=Strict`;

  const reject = (ctx: RequestContext, reason: string): never => {
    env.services.audit.record({
      action: 'auth.deny',
      outcome: 'deny',
      reason: `csrf: ${reason}`,
      resource: `route:${env.routeName}`,
      requestId: ctx.id,
      clientIp: ctx.clientIp,
      ...(ctx.slots.principal
        ? { actor: { kind: ctx.slots.principal.kind, id: ctx.slots.principal.id } }
        : {}),
    });
    throw new JunctionError(CsrfRejected, 'this request must come from the site itself, with its CSRF token');
  };

  return {
    onRequest(ctx) {
      const binding = bindingOf(cookie(ctx, config.sessionCookie));
      const current = cookie(ctx, config.cookieName);
      if (SAFE.has(ctx.method)) {
        let token = current;
        if (!tokenValid(key, binding, token)) {
          token = mintToken(key, binding);
          ctx.slots.csrfToken = token;
        }
        ctx.upstreamHeaders[UPSTREAM_HEADER] = token!;
        if (ctx.method === 'GET' && ctx.path === config.tokenPath) {
          return {
            status: 200,
            headers: { 'cache-control': 'no-store', 'set-cookie': setCookie(token!) },
            body: { token },
          };
        }
        return undefined;
      }
      if (ctx.headers.cookie === undefined) return undefined; // no ambient credential to abuse
      const why = crossSiteReason(ctx, ownOrigin(ctx), allowed);
      if (why !== undefined) return reject(ctx, why);
      const sent = ctx.headers[header];
      if (typeof sent !== 'string' || current === undefined) return reject(ctx, 'token_missing');
      if (!sameToken(sent, current) || !tokenValid(key, binding, sent)) return reject(ctx, 'token_invalid');
      return undefined;
    },
    onResponse(ctx, res) {
      const token = ctx.slots.csrfToken;
      if (token === undefined) return res;
      const prior = res.headers['set-cookie'];
      const mine = setCookie(token);
      res.headers['set-cookie'] =
        prior === undefined ? mine : [...(Array.isArray(prior) ? prior : [prior]), mine];
      return res;
    },
  };
}

export const csrf = definePolicy({
  name: 'auth.csrf',
  description:
    'CSRF protection: Origin / Sec-Fetch-Site checks and a signed double-submit token bound to the session',
  schema: csrfSchema,
  create: csrfPolicy,
});
