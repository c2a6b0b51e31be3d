/**
 * The start of a login: the authorization code flow (RFC 6749 §4.1) with PKCE S256 (RFC 7636 §4.2),
 * `state` and an OpenID `nonce`, as RFC 9700 §2.1.1 requires of every client.
 *
 * The pending login (state digest, nonce, sealed code_verifier, return path) is kept server-side,
 * in the session store, not in a cookie: a row the callback deletes as it reads it is what makes
 * `state` single-use across every node (an encrypted cookie can be replayed until it expires). It is
 * bound to the browser by a random login cookie whose digest the row holds, so a callback URL
 * planted in another browser (login CSRF, RFC 9700 §4.7) finds no login there.
 */
import * as client from 'openid-client';
import { JunctionError } from '../../../core/errors.ts';
import type { Answer, RequestContext } from '../../../core/policy.ts';
import { MethodNotAllowed } from '../../errors.ts';
import { readCookie, setCookie } from './cookies.ts';
import { isToken, randomToken, sha256 } from './crypto.ts';
import { SessionReturnInvalid } from './errors.ts';
import { audit, guard, type Realm, redirectUriOf } from './realm.ts';
import { safeReturnPath } from './return-to.ts';
import { sweepSometimes } from './stores.ts';

/** GET `loginPath?return=/path`: refuses a return address that is not a path here. */
export async function login(realm: Realm, ctx: RequestContext): Promise<Answer> {
  onlyMethods(ctx, 'GET, HEAD');
  const raw = new URLSearchParams(ctx.query).get('return');
  let returnTo = '/';
  if (raw !== null) {
    const safe = safeReturnPath(raw);
    if (safe === undefined) {
      audit(realm, ctx, { action: 'auth.login', outcome: 'deny', reason: 'return_invalid' });
      throw new JunctionError(SessionReturnInvalid, 'return must be a path on this site, such as /orders');
    }
    returnTo = safe;
  }
  return redirectToProvider(realm, ctx, returnTo);
}

/** Records a pending login and sends the browser to the provider's authorization endpoint. */
export async function redirectToProvider(
  realm: Realm,
  ctx: RequestContext,
  returnTo: string,
): Promise<Answer> {
  const { config, sealer } = realm;
  const oidc = await realm.provider();
  const store = realm.store();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  // One binding per browser, reused while it lives: logins started in two tabs both complete.
  const existing = readCookie(ctx, config.cookie.loginName);
  const binding = isToken(existing) ? existing : randomToken();
  const now = Date.now();
  const id = sha256(state);
  await guard(
    store.createLogin({
      id,
      realm: realm.name,
      browser: sha256(binding),
      nonce,
      codeVerifier: sealer.seal(verifier, `${id}:code_verifier`),
      returnTo,
      createdAt: now,
      expiresAt: now + config.loginTimeoutS * 1000,
    }),
  );
  sweepSometimes(realm.services, store, now);
  const url = client.buildAuthorizationUrl(oidc, {
    ...config.authorizationParams,
    redirect_uri: redirectUriOf(realm, ctx),
    scope: config.scopes.join(' '),
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return {
    status: 302,
    headers: {
      location: url.href,
      'cache-control': 'no-store',
      'set-cookie': setCookie(config.cookie.loginName, binding, config.loginTimeoutS),
    },
  };
}

export function onlyMethods(ctx: RequestContext, allow: string): void {
  if (!allow.split(', ').includes(ctx.method)) {
    throw new JunctionError(MethodNotAllowed, `${ctx.method} is not allowed on ${ctx.path}`, {
      headers: { allow },
    });
  }
}
