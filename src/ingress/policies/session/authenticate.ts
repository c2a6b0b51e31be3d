/**
 * Every other request on the route: find the session by the digest of its cookie, enforce the idle
 * and absolute timeouts (OWASP Session Management Cheat Sheet, "Session Expiration"), refresh the
 * access token when due, and pass the identity on: the principal and claims slots for later policies,
 * `Authorization: Bearer` and identity headers for the upstream, which never sees the session cookie.
 *
 * Without a valid session a browser navigation (GET/HEAD accepting text/html) is sent to the login
 * with its path as the return address; anything else gets 401 `session_required`, which does not say
 * whether the cookie was missing, unknown, expired or altered (the audit log does).
 */
import { JunctionError } from '../../../core/errors.ts';
import type { Answer, RequestContext } from '../../../core/policy.ts';
import type { SessionRecord } from '../../../store/index.ts';
import { clearCookie, cookiesForUpstream, readCookie } from './cookies.ts';
import { isToken, sha256 } from './crypto.ts';
import { SessionRequired } from './errors.ts';
import { audit, guard, type Realm } from './realm.ts';
import { refreshed } from './refresh.ts';
import { openToken } from './tokens.ts';

/** Writing `last_seen_at` on every request would turn reads into writes; once a minute is enough. */
const TOUCH_EVERY_MS = 60_000;

export async function authenticate(realm: Realm, ctx: RequestContext): Promise<Answer | undefined> {
  const { config } = realm;
  const cookie = readCookie(ctx, config.cookie.name);
  if (cookie === undefined) return deny(realm, ctx, 'no_session', false);
  if (!isToken(cookie)) return deny(realm, ctx, 'session_malformed', true);
  const store = realm.store();
  const id = sha256(cookie);
  let s: SessionRecord | undefined = await guard(store.get(id));
  const now = Date.now();
  if (s === undefined || s.realm !== realm.name) return deny(realm, ctx, 'session_unknown', true);
  if (now >= s.expiresAt || now >= s.absoluteExpiresAt) {
    await guard(store.delete(id));
    return deny(realm, ctx, 'session_expired', true);
  }
  if (s.accessExpiresAt - config.refreshBeforeExpiryS * 1000 <= now) {
    s = await refreshed(realm, s, now);
    if (s === undefined) return deny(realm, ctx, 'refresh_failed', true);
  }
  const accessToken = openToken(realm.sealer, s, 'access_token');
  if (accessToken === undefined) {
    // A retired key was dropped, or the row was altered: the session cannot be used.
    await guard(store.delete(id));
    return deny(realm, ctx, 'session_unreadable', true);
  }
  if (now - s.lastSeenAt >= TOUCH_EVERY_MS) {
    const expiresAt = Math.min(now + config.idleTimeoutS * 1000, s.absoluteExpiresAt);
    store.touch(id, now, expiresAt).catch((err: unknown) => {
      realm.services.logger.warn({ err }, 'auth.session: could not record session activity');
    });
  }
  admit(realm, ctx, s, accessToken);
  return undefined;
}

function admit(realm: Realm, ctx: RequestContext, s: SessionRecord, accessToken: string): void {
  const { config } = realm;
  const roles = s.claims[config.rolesClaim];
  const tenant = config.tenantClaim === undefined ? undefined : s.claims[config.tenantClaim];
  ctx.slots.principal = {
    kind: 'session',
    id: s.subject,
    roles: Array.isArray(roles) ? roles.map(String) : typeof roles === 'string' ? roles.split(' ') : [],
    scopes: s.scope?.split(' ') ?? [],
    ...(typeof tenant === 'string' ? { tenant } : {}),
    attributes: s.claims,
  };
  ctx.slots.claims = s.claims;
  ctx.slots.session = { id: s.id, subject: s.subject, expiresAt: s.expiresAt };
  if (config.forward.accessToken) ctx.upstreamHeaders.authorization = `Bearer ${accessToken}`;
  for (const [claim, header] of realm.forwardClaims) {
    const v = s.claims[claim];
    if (v !== undefined && v !== null) ctx.upstreamHeaders[header] = headerValue(v);
  }
  const rest = cookiesForUpstream(ctx, [config.cookie.name, config.cookie.loginName]);
  if (rest !== undefined) ctx.upstreamHeaders.cookie = rest;
}

/** Claim values as header values: visible ASCII as is, anything else percent-encoded (no CR/LF). */
function headerValue(v: unknown): string {
  const text = Array.isArray(v) ? v.map(String).join(',') : typeof v === 'string' ? v : JSON.stringify(v);
  return /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text);
}

function deny(realm: Realm, ctx: RequestContext, reason: string, clear: boolean): Answer {
  audit(realm, ctx, { action: 'auth.deny', outcome: 'deny', reason });
  const headers: Record<string, string> = clear
    ? { 'set-cookie': clearCookie(realm.config.cookie.name) }
    : {};
  if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.headers.accept?.includes('text/html')) {
    const back = encodeURIComponent(ctx.path + ctx.query);
    return {
      status: 302,
      headers: {
        ...headers,
        location: `${realm.config.loginPath}?return=${back}`,
        'cache-control': 'no-store',
      },
    };
  }
  throw new JunctionError(SessionRequired, `sign in at ${realm.config.loginPath}`, {
    headers,
    extensions: { login: realm.config.loginPath },
  });
}
