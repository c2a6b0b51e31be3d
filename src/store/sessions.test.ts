import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import type { PendingLogin, SessionRecord } from './sessions.ts';
import { targets } from './testing.ts';

const digest = () => createHash('sha256').update(randomBytes(32)).digest('base64url');
const NOW = 1_800_000_000_000;

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: digest(),
    realm: 'issuer|client',
    subject: 'alice',
    claims: { sub: 'alice', email: 'alice@example.test' },
    scope: 'openid email',
    accessToken: '1.sealed-access',
    accessExpiresAt: NOW + 60_000,
    refreshToken: '1.sealed-refresh',
    idToken: null,
    keyVersion: 1,
    createdAt: NOW,
    lastSeenAt: NOW,
    expiresAt: NOW + 1_800_000,
    absoluteExpiresAt: NOW + 28_800_000,
    ...overrides,
  };
}

function login(overrides: Partial<PendingLogin> = {}): PendingLogin {
  return {
    id: digest(),
    realm: 'issuer|client',
    browser: digest(),
    nonce: 'n0nce',
    codeVerifier: '1.sealed-verifier',
    returnTo: '/orders?page=2',
    createdAt: NOW,
    expiresAt: NOW + 600_000,
    ...overrides,
  };
}

for (const target of targets) {
  describe(`sessions on ${target.dialect}`, () => {
    test('a session is stored, found by its id, touched, refreshed and deleted', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const s = session();
      await store.sessions.create(s);
      assert.deepEqual(await store.sessions.get(s.id), s);

      assert.equal(await store.sessions.touch(s.id, NOW + 5000, NOW + 1_805_000), true);
      const tokens = {
        accessToken: '2.new-access',
        accessExpiresAt: NOW + 120_000,
        refreshToken: '2.new-refresh',
        idToken: '2.id',
        scope: 'openid',
        keyVersion: 2,
      };
      assert.equal(await store.sessions.setTokens(s.id, tokens), true);
      assert.deepEqual(await store.sessions.get(s.id), {
        ...s,
        ...tokens,
        lastSeenAt: NOW + 5000,
        expiresAt: NOW + 1_805_000,
      });

      assert.equal(await store.sessions.delete(s.id), true);
      assert.equal(await store.sessions.get(s.id), undefined);
      assert.equal(await store.sessions.touch(s.id, NOW, NOW), false);
      assert.equal(await store.sessions.delete(s.id), false);
    });

    test('only one claim to refresh a session holds at a time, until it lapses or tokens are stored', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const s = session();
      await store.sessions.create(s);
      const seen = s.accessExpiresAt;
      const claims = await Promise.all(
        [1, 2, 3].map(() => store.sessions.claimRefresh(s.id, seen, NOW, NOW + 10_000)),
      );
      assert.deepEqual(claims.filter(Boolean).length, 1);
      assert.equal(await store.sessions.claimRefresh(s.id, seen, NOW + 9_999, NOW + 20_000), false);
      assert.equal(await store.sessions.claimRefresh(s.id, seen, NOW + 10_000, NOW + 20_000), true, 'lapsed');
      await store.sessions.setTokens(s.id, { ...s, accessExpiresAt: seen + 1 });
      assert.equal(
        await store.sessions.claimRefresh(s.id, seen, NOW + 10_001, NOW + 20_000),
        false,
        'refreshed since it was read',
      );
      assert.equal(await store.sessions.claimRefresh(s.id, seen + 1, NOW + 10_001, NOW + 20_000), true);
    });

    test('a pending login is taken once: a replayed state finds nothing', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const l = login();
      await store.sessions.createLogin(l);
      const taken = await Promise.all([1, 2, 3, 4].map(() => store.sessions.takeLogin(l.id, NOW)));
      assert.deepEqual(
        taken.filter((x) => x !== undefined),
        [l],
      );
      assert.equal(await store.sessions.takeLogin(l.id, NOW), undefined);
    });

    test('an expired login is refused and gone', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const l = login({ expiresAt: NOW + 1 });
      await store.sessions.createLogin(l);
      assert.equal(await store.sessions.takeLogin(l.id, NOW + 1), undefined);
      await store.sessions.createLogin({ ...l, expiresAt: NOW + 600_000 });
      assert.ok(await store.sessions.takeLogin(l.id, NOW + 1));
    });

    test('the sweep deletes expired sessions and logins only', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const live = session();
      const dead = [session({ expiresAt: NOW - 1 }), session({ expiresAt: NOW })];
      for (const s of [live, ...dead]) await store.sessions.create(s);
      await store.sessions.createLogin(login({ expiresAt: NOW - 5 }));
      const keep = login();
      await store.sessions.createLogin(keep);
      assert.equal(await store.sessions.sweep(NOW), 3);
      assert.ok(await store.sessions.get(live.id));
      for (const s of dead) assert.equal(await store.sessions.get(s.id), undefined);
      assert.ok(await store.sessions.takeLogin(keep.id, NOW));
    });

    test('ids that are not digests are refused or never found, injection payloads included', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      await store.sessions.create(session());
      for (const id of ["' OR '1'='1", `${'A'.repeat(42)}'`, '', 'x'.repeat(500)]) {
        assert.equal(await store.sessions.get(id), undefined);
        assert.equal(await store.sessions.takeLogin(id, NOW), undefined);
        await assert.rejects(
          store.sessions.create(session({ id })),
          (e) => isJunctionError(e) && e.code === 'store_record_invalid',
        );
      }
    });
  });
}
