/**
 * The provider's redirect back (RFC 6749 §4.1.2): take the pending login named by `state` (once:
 * the row is deleted as it is read), check it came from this browser, then redeem the code with the
 * PKCE verifier (RFC 7636 §4.5). openid-client checks `state`, `iss` (RFC 9207) and the ID token's
 * `nonce`, `aud`, `exp`; the provider checks the verifier and that the code was not used before
 * (RFC 6749 §4.1.2: a code is single-use). Only then is a session created, under a fresh id, and any
 * session the browser had is ended (no session fixation, OWASP Session Management Cheat Sheet).
 */
import * as client from 'openid-client';
import { JunctionError } from '../../../core/errors.ts';
import type { Answer, RequestContext } from '../../../core/policy.ts';
import type { PendingLogin } from '../../../store/index.ts';
import { readCookie, setCookie } from './cookies.ts';
import { isToken, randomToken, sameSecret, sha256 } from './crypto.ts';
import { SessionLoginFailed, SessionProviderUnavailable, SessionStateInvalid } from './errors.ts';
import { onlyMethods } from './login.ts';
import { isTransportFailure } from './provider.ts';
import { audit, guard, type Realm, redirectUriOf } from './realm.ts';
import { sealTokens } from './tokens.ts';

/** ID token members that describe the token rather than the user. */
const TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 'exp', 'iat', 'nbf', 'jti'];

export async function callback(realm: Realm, ctx: RequestContext): Promise<Answer> {
  onlyMethods(ctx, 'GET');
  const { config, sealer } = realm;
  const state = new URLSearchParams(ctx.query).get('state');
  const refuse = (reason: string): never => {
    audit(realm, ctx, { action: 'auth.login', outcome: 'deny', reason });
    throw new JunctionError(SessionStateInvalid, 'start again from the sign-in page');
  };
  if (state === null || state.length === 0 || state.length > 512) return refuse('state_missing');
  const store = realm.store();
  const login: PendingLogin | undefined = await guard(store.takeLogin(sha256(state), Date.now()));
  if (login === undefined || login.realm !== realm.name) return refuse('state_unknown');
  const binding = readCookie(ctx, config.cookie.loginName);
  if (!isToken(binding) || !sameSecret(sha256(binding), login.browser)) return refuse('state_other_browser');
  const verifier = sealer.open(login.codeVerifier, `${login.id}:code_verifier`);
  if (verifier === undefined) return refuse('verifier_unreadable');

  const oidc = await realm.provider();
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(oidc, new URL(redirectUriOf(realm, ctx) + ctx.query), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    });
  } catch (cause) {
    if (isTransportFailure(cause)) throw new JunctionError(SessionProviderUnavailable, undefined, { cause });
    const reason = (cause as { error?: string; code?: string }).error ?? (cause as { code?: string }).code;
    audit(realm, ctx, {
      action: 'auth.login',
      outcome: 'failure',
      reason: `provider: ${reason ?? 'refused'}`,
    });
    realm.services.logger.info({ err: cause, requestId: ctx.id }, 'auth.session: sign-in refused');
    throw new JunctionError(SessionLoginFailed, 'the identity provider did not complete the sign-in');
  }

  const idClaims: Record<string, unknown> = { ...tokens.claims() };
  for (const k of TOKEN_CLAIMS) delete idClaims[k];
  const claims = { ...(await userInfo(realm, oidc, tokens.access_token, String(idClaims.sub))), ...idClaims };
  const token = randomToken();
  const id = sha256(token);
  const now = Date.now();
  const absoluteExpiresAt = now + config.absoluteTimeoutS * 1000;
  const previous = readCookie(ctx, config.cookie.name);
  if (isToken(previous)) await guard(store.delete(sha256(previous)));
  await guard(
    store.create({
      id,
      realm: realm.name,
      subject: String(claims.sub),
      claims,
      ...sealTokens(sealer, id, tokens, undefined, now),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: Math.min(now + config.idleTimeoutS * 1000, absoluteExpiresAt),
      absoluteExpiresAt,
    }),
  );
  audit(realm, ctx, {
    action: 'auth.login',
    outcome: 'success',
    actor: { kind: 'session', id: String(claims.sub) },
  });
  return {
    status: 302,
    headers: {
      location: login.returnTo,
      'cache-control': 'no-store',
      'set-cookie': setCookie(config.cookie.name, token),
    },
  };
}

/** Userinfo claims (OpenID Connect Core §5.3), when configured; a failure leaves the ID token's alone. */
async function userInfo(
  realm: Realm,
  oidc: client.Configuration,
  accessToken: string,
  sub: string,
): Promise<Record<string, unknown>> {
  if (!realm.config.fetchUserInfo || oidc.serverMetadata().userinfo_endpoint === undefined) return {};
  try {
    return { ...(await client.fetchUserInfo(oidc, accessToken, sub)) };
  } catch (err) {
    realm.services.logger.warn({ err }, 'auth.session: userinfo failed; using the ID token claims only');
    return {};
  }
}
