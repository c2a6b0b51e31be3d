/**
 * Access tokens are refreshed shortly before they expire (RFC 6749 §6), on the request that finds
 * them due, so the upstream never sees an expired one. Refreshes are coalesced twice: requests of one
 * session in this process share one promise, and across nodes a claim in the store lets one node
 * redeem the refresh token while the others wait for its result. That matters because providers
 * rotate refresh tokens and treat a second use of an old one as theft, revoking the grant
 * (RFC 9700 §4.14.2).
 *
 * A refusal from the provider (`invalid_grant`: revoked, expired, reused) ends the session. An
 * outage does not: the current token is used while it lasts, then the answer is a 503.
 */
import * as client from 'openid-client';
import { isJunctionError, JunctionError } from '../../../core/errors.ts';
import type { SessionRecord } from '../../../store/index.ts';
import { SessionProviderUnavailable } from './errors.ts';
import { isTransportFailure } from './provider.ts';
import { guard, type Realm } from './realm.ts';
import { openToken, sealTokens } from './tokens.ts';

const POLL_MS = 100;

/** The session with a fresh access token, or undefined when the session ended. */
export function refreshed(realm: Realm, s: SessionRecord, now: number): Promise<SessionRecord | undefined> {
  let running = realm.refreshing.get(s.id);
  if (running === undefined) {
    running = refresh(realm, s, now).finally(() => realm.refreshing.delete(s.id));
    realm.refreshing.set(s.id, running);
  }
  return running;
}

async function refresh(realm: Realm, s: SessionRecord, now: number): Promise<SessionRecord | undefined> {
  const store = realm.store();
  const stillValid = s.accessExpiresAt > now;
  const refreshToken = openToken(realm.sealer, s, 'refresh_token');
  if (refreshToken === undefined) {
    // No refresh token (offline_access not granted): the session lasts as long as its access token.
    if (stillValid) return s;
    await guard(store.delete(s.id));
    return undefined;
  }
  const claimMs = 2 * realm.config.providerTimeoutMs + 1000;
  if (!(await guard(store.claimRefresh(s.id, s.accessExpiresAt, now, now + claimMs)))) {
    // Refreshed since we read it (by this process or another node), or being refreshed elsewhere.
    const current = await guard(store.get(s.id));
    if (current === undefined || current.accessExpiresAt !== s.accessExpiresAt) return current;
    return stillValid ? s : waitForOtherNode(realm, s, now + claimMs);
  }
  try {
    const oidc = await realm.provider();
    const t = await client.refreshTokenGrant(oidc, refreshToken);
    const tokens = sealTokens(realm.sealer, s.id, t, s, Date.now());
    await guard(store.setTokens(s.id, tokens));
    return { ...s, ...tokens };
  } catch (err) {
    if (isJunctionError(err) && err.code !== SessionProviderUnavailable.code) throw err;
    if (isJunctionError(err) || isTransportFailure(err)) {
      realm.services.logger.warn({ err }, 'auth.session: token refresh failed; the provider is unreachable');
      if (stillValid) return s;
      throw new JunctionError(SessionProviderUnavailable, undefined, { cause: err });
    }
    realm.services.logger.info({ err }, 'auth.session: the provider refused the refresh; the session ends');
    await guard(store.delete(s.id));
    return undefined;
  }
}

/** Another node holds the claim: wait for the tokens it stores (or for the session to go). */
async function waitForOtherNode(
  realm: Realm,
  s: SessionRecord,
  deadline: number,
): Promise<SessionRecord | undefined> {
  const store = realm.store();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const current = await guard(store.get(s.id));
    if (current === undefined) return undefined;
    if (current.accessExpiresAt !== s.accessExpiresAt) return current;
  }
  throw new JunctionError(SessionProviderUnavailable, 'the token refresh did not finish in time');
}
