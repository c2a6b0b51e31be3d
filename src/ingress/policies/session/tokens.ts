/**
 * Token responses → what a session row holds. Every token is sealed (crypto.ts) with the row id and
 * column as associated data; the key version of the current key goes with the row, and a refresh
 * token the provider did not rotate (RFC 6749 §6 lets it keep the old one) is sealed again under the
 * current key, so after one refresh no column of the row depends on a retired key.
 */
import type { TokenEndpointResponse } from 'openid-client';
import type { SessionRecord, SessionTokens } from '../../../store/index.ts';
import type { Sealer } from './crypto.ts';

/** RFC 6749 §5.1 only recommends `expires_in`; without it, assume a short life and refresh early. */
const DEFAULT_EXPIRES_IN_S = 300;

export function sealTokens(
  sealer: Sealer,
  id: string,
  t: TokenEndpointResponse,
  previous: SessionRecord | undefined,
  now: number,
): SessionTokens {
  const refresh = t.refresh_token ?? openToken(sealer, previous, 'refresh_token');
  const idToken = t.id_token ?? openToken(sealer, previous, 'id_token');
  return {
    accessToken: sealer.seal(t.access_token, `${id}:access_token`),
    accessExpiresAt: now + (t.expires_in ?? DEFAULT_EXPIRES_IN_S) * 1000,
    refreshToken: refresh === undefined ? null : sealer.seal(refresh, `${id}:refresh_token`),
    idToken: idToken === undefined ? null : sealer.seal(idToken, `${id}:id_token`),
    scope: t.scope ?? previous?.scope ?? null,
    keyVersion: sealer.version,
  };
}

export type TokenColumn = 'access_token' | 'refresh_token' | 'id_token';

const FIELD = { access_token: 'accessToken', refresh_token: 'refreshToken', id_token: 'idToken' } as const;

/** The plaintext of one token of a session; undefined when absent or unreadable. */
export function openToken(
  sealer: Sealer,
  s: SessionRecord | undefined,
  column: TokenColumn,
): string | undefined {
  const sealed = s?.[FIELD[column]];
  if (sealed === undefined || sealed === null) return undefined;
  return sealer.open(sealed, `${s!.id}:${column}`);
}
