/**
 * Browser sessions and pending logins: the stored half of `auth.session`
 * (src/ingress/policies/session/). The policy hashes ids and seals tokens before they get here; this
 * repository only stores, finds and expires rows, and never sees a usable secret.
 *
 * A pending login is taken with `delete … returning`, one statement: of two callbacks carrying the
 * same `state`, exactly one gets the row (RFC 9700 §4.7.1, state is single-use). Every query is built
 * by a `…Query` method so src/store/query-plans.test.ts explains exactly what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { StoreRecordInvalid } from './errors.ts';
import type { Database } from './schema.ts';

export interface SessionRecord {
  /** SHA-256 (base64url) of the cookie value. */
  id: string;
  realm: string;
  subject: string;
  claims: Record<string, unknown>;
  scope: string | null;
  /** Sealed by the policy, like `refreshToken` and `idToken`. */
  accessToken: string;
  accessExpiresAt: number;
  refreshToken: string | null;
  idToken: string | null;
  keyVersion: number;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  absoluteExpiresAt: number;
}

/** What a refresh replaces. */
export type SessionTokens = Pick<
  SessionRecord,
  'accessToken' | 'accessExpiresAt' | 'refreshToken' | 'idToken' | 'scope' | 'keyVersion'
>;

export interface PendingLogin {
  /** SHA-256 (base64url) of the OAuth `state`. */
  id: string;
  realm: string;
  /** SHA-256 (base64url) of the browser's login cookie. */
  browser: string;
  nonce: string;
  /** Sealed by the policy. */
  codeVerifier: string;
  returnTo: string;
  createdAt: number;
  expiresAt: number;
}

// Columns as the domain objects name them, so rows need no mapping.
const SESSION_COLUMNS = [
  'id',
  'realm',
  'subject',
  'claims',
  'scope',
  'access_token as accessToken',
  'access_expires_at as accessExpiresAt',
  'refresh_token as refreshToken',
  'id_token as idToken',
  'key_version as keyVersion',
  'created_at as createdAt',
  'last_seen_at as lastSeenAt',
  'expires_at as expiresAt',
  'absolute_expires_at as absoluteExpiresAt',
] as const;
const LOGIN_COLUMNS = [
  'id',
  'realm',
  'browser',
  'nonce',
  'code_verifier as codeVerifier',
  'return_to as returnTo',
  'created_at as createdAt',
  'expires_at as expiresAt',
] as const;
type SessionRow = Omit<SessionRecord, 'claims'> & { claims: string };

const ID = /^[A-Za-z0-9_-]{43}$/;
const MAX_CLAIMS = 16_384;

export class SessionRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(s: SessionRecord): Promise<void> {
    checkId(s.id);
    const claims = JSON.stringify(s.claims);
    if (claims.length > MAX_CLAIMS) {
      throw new JunctionError(StoreRecordInvalid, `session claims must be at most ${MAX_CLAIMS} characters`);
    }
    await this.insertQuery(s, claims).execute();
  }

  /** The session, expired or not: the caller decides (and deletes it when it is). */
  async get(id: string): Promise<SessionRecord | undefined> {
    if (!ID.test(id)) return undefined;
    const row = await this.getQuery(id).executeTakeFirst();
    return row && toSession(row);
  }

  /** Slides the idle expiry; false when the session is gone. */
  async touch(id: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    const r = await this.touchQuery(id, lastSeenAt, expiresAt).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Stores refreshed tokens and releases the refresh claim. */
  async setTokens(id: string, t: SessionTokens): Promise<boolean> {
    const r = await this.setTokensQuery(id, t).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Claims the right to refresh this session's tokens until `until`, unless another node holds an
   * unexpired claim or the tokens changed since the caller read them (`seenAccessExpiresAt`):
   * refresh tokens may rotate (RFC 9700 §4.14.2), so redeeming one twice can get the grant revoked.
   */
  async claimRefresh(id: string, seenAccessExpiresAt: number, now: number, until: number): Promise<boolean> {
    const r = await this.claimRefreshQuery(id, seenAccessExpiresAt, now, until).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.deleteQuery(id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async createLogin(l: PendingLogin): Promise<void> {
    checkId(l.id);
    await this.insertLoginQuery(l).execute();
  }

  /** Takes (deletes and returns) a pending login; undefined when unknown, taken before, or expired. */
  async takeLogin(id: string, now = Date.now()): Promise<PendingLogin | undefined> {
    if (!ID.test(id)) return undefined;
    const row = await this.takeLoginQuery(id).executeTakeFirst();
    // node:sqlite rows have a null prototype: hand out a plain object.
    return row === undefined || row.expiresAt <= now ? undefined : { ...row };
  }

  /** Deletes up to `limit` expired sessions and as many expired logins; resolves to how many went. */
  async sweep(now = Date.now(), limit = 500): Promise<number> {
    const a = await this.sweepQuery(now, limit).executeTakeFirst();
    const b = await this.sweepLoginsQuery(now, limit).executeTakeFirst();
    return Number(a.numDeletedRows) + Number(b.numDeletedRows);
  }

  insertQuery(s: SessionRecord, claims = JSON.stringify(s.claims)) {
    return this.#db.insertInto('sessions').values({
      id: s.id,
      realm: s.realm,
      subject: s.subject,
      claims,
      scope: s.scope,
      access_token: s.accessToken,
      access_expires_at: s.accessExpiresAt,
      refresh_token: s.refreshToken,
      id_token: s.idToken,
      key_version: s.keyVersion,
      created_at: s.createdAt,
      last_seen_at: s.lastSeenAt,
      expires_at: s.expiresAt,
      absolute_expires_at: s.absoluteExpiresAt,
      refresh_claimed_until: null,
    });
  }

  getQuery(id: string) {
    return this.#db.selectFrom('sessions').select(SESSION_COLUMNS).where('id', '=', id);
  }

  touchQuery(id: string, lastSeenAt: number, expiresAt: number) {
    return this.#db
      .updateTable('sessions')
      .set({ last_seen_at: lastSeenAt, expires_at: expiresAt })
      .where('id', '=', id);
  }

  setTokensQuery(id: string, t: SessionTokens) {
    return this.#db
      .updateTable('sessions')
      .set({
        access_token: t.accessToken,
        access_expires_at: t.accessExpiresAt,
        refresh_token: t.refreshToken,
        id_token: t.idToken,
        scope: t.scope,
        key_version: t.keyVersion,
        refresh_claimed_until: null,
      })
      .where('id', '=', id);
  }

  claimRefreshQuery(id: string, seenAccessExpiresAt: number, now: number, until: number) {
    return this.#db
      .updateTable('sessions')
      .set({ refresh_claimed_until: until })
      .where('id', '=', id)
      .where('access_expires_at', '=', seenAccessExpiresAt)
      .where((eb) =>
        eb.or([eb('refresh_claimed_until', 'is', null), eb('refresh_claimed_until', '<=', now)]),
      );
  }

  deleteQuery(id: string) {
    return this.#db.deleteFrom('sessions').where('id', '=', id);
  }

  sweepQuery(now: number, limit: number) {
    return this.#db
      .deleteFrom('sessions')
      .where('id', 'in', (eb) =>
        eb.selectFrom('sessions').select('id').where('expires_at', '<=', now).limit(limit),
      );
  }

  insertLoginQuery(l: PendingLogin) {
    return this.#db.insertInto('session_logins').values({
      id: l.id,
      realm: l.realm,
      browser: l.browser,
      nonce: l.nonce,
      code_verifier: l.codeVerifier,
      return_to: l.returnTo,
      created_at: l.createdAt,
      expires_at: l.expiresAt,
    });
  }

  takeLoginQuery(id: string) {
    return this.#db.deleteFrom('session_logins').where('id', '=', id).returning(LOGIN_COLUMNS);
  }

  sweepLoginsQuery(now: number, limit: number) {
    return this.#db
      .deleteFrom('session_logins')
      .where('id', 'in', (eb) =>
        eb.selectFrom('session_logins').select('id').where('expires_at', '<=', now).limit(limit),
      );
  }
}

function checkId(id: string): void {
  if (!ID.test(id)) throw new JunctionError(StoreRecordInvalid, 'id must be a base64url SHA-256 digest');
}

function toSession({ claims, ...row }: SessionRow): SessionRecord {
  return { ...row, claims: JSON.parse(claims) as Record<string, unknown> };
}
