/**
 * Browser sessions of `auth.session` (src/store/sessions.ts) and the logins still waiting for the
 * provider's callback. Released: never edit, add a migration instead (./index.ts).
 *
 * Neither table holds a usable secret: ids are SHA-256 digests of what the browser holds (a leaked
 * table does not hand out sessions), and tokens and PKCE verifiers are AES-256-GCM ciphertexts sealed
 * by the policy with a key the store never sees (RFC 9700 §4.14 asks for refresh tokens to be
 * protected at rest; OWASP Session Management Cheat Sheet, "Session ID Storage").
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sessions')
    // SHA-256 (base64url) of the 256-bit cookie value: lookups by primary key.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('realm', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('claims', 'text', (c) => c.notNull())
    .addColumn('scope', 'text')
    .addColumn('access_token', 'text', (c) => c.notNull())
    .addColumn('access_expires_at', 'bigint', (c) => c.notNull())
    .addColumn('refresh_token', 'text')
    .addColumn('id_token', 'text')
    .addColumn('key_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
    .addColumn('refresh_claimed_until', 'bigint')
    .execute();
  // Serves the expiry sweep: `where expires_at < now`.
  await db.schema.createIndex('sessions_expires_at_idx').on('sessions').column('expires_at').execute();

  await db.schema
    .createTable('session_logins')
    // SHA-256 (base64url) of the OAuth `state`; taken (deleted) by the callback, so it is single-use.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('realm', 'text', (c) => c.notNull())
    // SHA-256 of the login cookie: the callback must come from the browser that started the login.
    .addColumn('browser', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('return_to', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('session_logins_expires_at_idx')
    .on('session_logins')
    .column('expires_at')
    .execute();
}
