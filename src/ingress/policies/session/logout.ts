/**
 * POST `logoutPath`: the session row is deleted (so the cookie is worthless even if a copy
 * survives), the cookie cleared, the refresh token revoked at the provider when it offers RFC 7009
 * revocation, and the browser sent to `postLogoutPath` — or, with `endSessionRedirect`, to the
 * provider's `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0) to end the provider's
 * session too. POST only, and only from this site: a cross-site page must not be able to log a user
 * out (OWASP CSRF Prevention Cheat Sheet: state changes never on GET).
 */
import * as client from 'openid-client';
import { JunctionError } from '../../../core/errors.ts';
import type { Answer, RequestContext } from '../../../core/policy.ts';
import { CsrfRejected, crossSiteReason } from '../csrf/index.ts';
import { clearCookie, readCookie } from './cookies.ts';
import { isToken, sha256 } from './crypto.ts';
import { onlyMethods } from './login.ts';
import { audit, guard, originOf, type Realm } from './realm.ts';
import { openToken } from './tokens.ts';

const NO_OTHER_ORIGINS: ReadonlySet<string> = new Set();

export async function logout(realm: Realm, ctx: RequestContext): Promise<Answer> {
  onlyMethods(ctx, 'POST');
  const { config } = realm;
  const why = crossSiteReason(ctx, originOf(realm, ctx), NO_OTHER_ORIGINS);
  if (why !== undefined) {
    audit(realm, ctx, { action: 'auth.logout', outcome: 'deny', reason: `csrf: ${why}` });
    throw new JunctionError(CsrfRejected, 'sign out from the site itself');
  }
  const cookie = readCookie(ctx, config.cookie.name);
  let idToken: string | undefined;
  if (isToken(cookie)) {
    const store = realm.store();
    const s = await guard(store.get(sha256(cookie)));
    if (s !== undefined && s.realm === realm.name) {
      await guard(store.delete(s.id));
      idToken = openToken(realm.sealer, s, 'id_token');
      const refreshToken = openToken(realm.sealer, s, 'refresh_token');
      if (refreshToken !== undefined) void revoke(realm, refreshToken);
      audit(realm, ctx, {
        action: 'auth.logout',
        outcome: 'success',
        actor: { kind: 'session', id: s.subject },
      });
    }
  }
  return {
    status: 303,
    headers: {
      location: await afterLogout(realm, ctx, idToken),
      'cache-control': 'no-store',
      'set-cookie': clearCookie(config.cookie.name),
    },
  };
}

async function afterLogout(realm: Realm, ctx: RequestContext, idToken: string | undefined): Promise<string> {
  const { config } = realm;
  if (!config.endSessionRedirect) return config.postLogoutPath;
  let oidc: client.Configuration;
  try {
    oidc = await realm.provider();
  } catch {
    return config.postLogoutPath; // the local session is gone either way
  }
  if (oidc.serverMetadata().end_session_endpoint === undefined) return config.postLogoutPath;
  return client.buildEndSessionUrl(oidc, {
    post_logout_redirect_uri: originOf(realm, ctx) + config.postLogoutPath,
    ...(idToken === undefined ? { client_id: config.clientId } : { id_token_hint: idToken }),
  }).href;
}

/** Best effort, off the response's path: the session is already gone locally. */
async function revoke(realm: Realm, refreshToken: string): Promise<void> {
  try {
    const oidc = await realm.provider();
    if (oidc.serverMetadata().revocation_endpoint === undefined) return;
    await client.tokenRevocation(oidc, refreshToken, { token_type_hint: 'refresh_token' });
  } catch (err) {
    realm.services.logger.warn({ err }, 'auth.session: refresh token revocation failed');
  }
}
