/**
 * `auth.session` end to end against a real OpenID Provider (oidc-provider): sign-in with the
 * authorization code flow and PKCE, the proxied request, refresh, logout (Q17, Q21).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { parseSetCookie } from 'cookie';
import { api, Browser, type SessionSetup, sessionGateway } from './helpers/session.ts';

test('a browser signs in with code + PKCE and the upstream gets a bearer token and identity headers', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();

  const page = await b.fetch(s.gw.url('/orders?page=2'), { headers: { accept: 'text/html' } });
  assert.equal(page.status, 302);
  assert.equal(page.headers.get('location'), '/auth/login?return=%2Forders%3Fpage%3D2');

  const login = await b.fetch(s.gw.url(page.headers.get('location')!));
  assert.equal(login.status, 302);
  const authorize = new URL(login.headers.get('location')!);
  assert.equal(authorize.origin, s.op.issuer);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.match(authorize.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
  assert.match(authorize.searchParams.get('state')!, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(authorize.searchParams.get('nonce'));
  assert.equal(authorize.searchParams.get('scope'), 'openid profile email offline_access');
  assert.equal(authorize.searchParams.get('redirect_uri'), s.gw.url('/auth/callback'));

  const callbackUrl = await b.followUntil(authorize.href, (u) => u.startsWith(s.gw.url('/auth/callback?')));
  const done = await b.fetch(callbackUrl);
  assert.equal(done.status, 302);
  assert.equal(done.headers.get('location'), '/orders?page=2');
  const cookie = done.headers
    .getSetCookie()
    .map((c) => parseSetCookie(c))
    .find((c) => c.name === '__Host-jx_session');
  assert.ok(cookie, 'session cookie set');
  assert.match(cookie.value!, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(
    {
      secure: cookie.secure,
      httpOnly: cookie.httpOnly,
      sameSite: cookie.sameSite,
      path: cookie.path,
      domain: cookie.domain,
    },
    { secure: true, httpOnly: true, sameSite: 'lax', path: '/', domain: undefined },
  );

  const res = await b.fetch(s.gw.url('/orders?page=2'), {
    headers: { accept: 'text/html', cookie: `theme=dark; __Host-jx_session=${cookie.value}` },
  });
  assert.equal(res.status, 200);
  const seen = s.up.seen.at(-1)!;
  assert.equal(seen.url, '/orders?page=2');
  assert.equal(seen.headers['x-junction-principal'], 'alice');
  assert.equal(seen.headers['x-junction-email'], 'alice@example.test');
  assert.equal(seen.headers.cookie, 'theme=dark', 'the session cookie stays at the gateway');
  const bearer = /^Bearer (\S+)$/.exec(String(seen.headers.authorization))?.[1];
  assert.ok(bearer, 'Authorization: Bearer to the upstream');
  // The token the upstream got is one the provider honours, for this user.
  const me = await fetch(`${s.op.issuer}/me`, { headers: { authorization: `Bearer ${bearer}` } });
  assert.equal(me.status, 200);
  assert.equal(((await me.json()) as { sub: string }).sub, 'alice');

  assert.deepEqual(s.op.grants, ['authorization_code'], 'no refresh while the token is fresh');
  assert.ok(
    s.audit.some((e) => e.action === 'auth.login' && e.outcome === 'success' && e.actor?.id === 'alice'),
  );
});

test('an API call without a session gets 401 session_required, not a redirect', async (t) => {
  const s = await sessionGateway(t);
  const res = await api(new Browser(), s, '/api/orders');
  assert.equal(res.status, 401);
  assert.match(res.headers.get('content-type')!, /^application\/problem\+json/);
  const problem = (await res.json()) as { code: string; login: string };
  assert.equal(problem.code, 'session_required');
  assert.equal(problem.login, '/auth/login');
  const post = await api(new Browser(), s, '/orders', { method: 'POST', headers: { accept: 'text/html' } });
  assert.equal(post.status, 401, 'only GET and HEAD navigations are redirected');
  assert.equal(s.up.seen.length, 0);
  assert.ok(s.audit.some((e) => e.action === 'auth.deny' && e.reason === 'no_session'));
});

test('tokens at rest are sealed: the table holds no usable token', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  await s.signIn(b);
  const rows = await s.gw.gateway.store.db.selectFrom('sessions').selectAll().execute();
  assert.equal(rows.length, 1);
  const row = rows[0]!;
  const refreshTokens = [...s.op.stored('RefreshToken').keys()];
  const accessTokens = [...s.op.stored('AccessToken').keys()];
  assert.equal(refreshTokens.length, 1);
  const dump = JSON.stringify(rows);
  for (const token of [...refreshTokens, ...accessTokens])
    assert.ok(!dump.includes(token), 'no plaintext token');
  assert.match(row.refresh_token!, /^1\.[A-Za-z0-9_-]+$/);
  assert.equal(row.key_version, 1);
  // Sealed with the configured key, bound to the row: it opens here and nowhere else.
  assert.equal(s.sealer.open(row.refresh_token!, `${row.id}:refresh_token`), refreshTokens[0]);
  assert.equal(s.sealer.open(row.refresh_token!, `${'A'.repeat(43)}:refresh_token`), undefined);
  assert.equal(s.sealer.open(row.refresh_token!, `${row.id}:access_token`), undefined);
  assert.equal(row.subject, 'alice');
  const cookie = b.cookie(s.gw.url(), '__Host-jx_session')!;
  assert.ok(!dump.includes(cookie), 'the cookie value is not stored');
  assert.equal(row.id, createHash('sha256').update(cookie).digest('base64url'), 'only its SHA-256');
});

/** Makes the session's access token expire within the 60 s refresh window. */
async function expireSoon(s: SessionSetup, inMs = 10_000): Promise<void> {
  await s.gw.gateway.store.db
    .updateTable('sessions')
    .set({ access_expires_at: Date.now() + inMs })
    .execute();
}

test('a token about to expire is refreshed once for concurrent requests, then forwarded', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  await s.signIn(b);
  await expireSoon(s);
  const [row] = await s.gw.gateway.store.db.selectFrom('sessions').selectAll().execute();
  const before = s.sealer.open(row!.access_token, `${row!.id}:access_token`);

  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => api(b, s, '/api/me')));
  assert.deepEqual(
    answers.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  assert.deepEqual(s.op.grants, ['authorization_code', 'refresh_token'], 'one refresh for five requests');
  const bearers = new Set(s.up.seen.map((r) => r.headers.authorization));
  assert.equal(bearers.size, 1);
  assert.notEqual([...bearers][0], `Bearer ${before}`);
  const [after] = await s.gw.gateway.store.db.selectFrom('sessions').selectAll().execute();
  assert.equal(`Bearer ${s.sealer.open(after!.access_token, `${after!.id}:access_token`)}`, [...bearers][0]);
  assert.ok(after!.access_expires_at > row!.access_expires_at);
});

test('when the provider refuses the refresh, the session ends', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  await s.signIn(b);
  await expireSoon(s);
  s.op.stored('RefreshToken').clear(); // revoked at the provider
  const res = await api(b, s, '/api/me');
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'session_required');
  assert.equal(b.cookie(s.gw.url(), '__Host-jx_session'), undefined, 'cookie cleared');
  assert.equal((await s.gw.gateway.store.db.selectFrom('sessions').selectAll().execute()).length, 0);
  assert.ok(s.audit.some((e) => e.action === 'auth.deny' && e.reason === 'refresh_failed'));
  assert.equal(s.up.seen.length, 0);
});

test('logout ends the session: POST only, from this site only', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  await s.signIn(b);
  assert.equal((await api(b, s, '/api/me')).status, 200);

  assert.equal((await api(b, s, '/auth/logout')).status, 405, 'GET cannot log out');
  const forced = await api(b, s, '/auth/logout', {
    method: 'POST',
    headers: { origin: 'https://evil.example' },
  });
  assert.equal(forced.status, 403);
  assert.equal(((await forced.json()) as { code: string }).code, 'csrf_rejected');
  assert.equal((await api(b, s, '/api/me')).status, 200, 'still signed in');

  const cookie = b.cookie(s.gw.url(), '__Host-jx_session')!;
  const out = await api(b, s, '/auth/logout', { method: 'POST', headers: { origin: s.gw.url('') } });
  assert.equal(out.status, 303);
  assert.equal(out.headers.get('location'), '/');
  assert.equal(b.cookie(s.gw.url(), '__Host-jx_session'), undefined);
  assert.equal((await s.gw.gateway.store.db.selectFrom('sessions').selectAll().execute()).length, 0);
  // A copy of the old cookie is worth nothing now.
  const replay = await api(new Browser(), s, '/api/me', {
    headers: { cookie: `__Host-jx_session=${cookie}` },
  });
  assert.equal(replay.status, 401);
  assert.ok(
    s.audit.some((e) => e.action === 'auth.logout' && e.outcome === 'success' && e.actor?.id === 'alice'),
  );
});

test("logout can continue at the provider's end_session_endpoint", async (t) => {
  const s = await sessionGateway(t, { session: { endSessionRedirect: true } });
  const b = new Browser();
  await s.signIn(b);
  const out = await api(b, s, '/auth/logout', { method: 'POST' });
  assert.equal(out.status, 303);
  const end = new URL(out.headers.get('location')!);
  assert.equal(`${end.origin}${end.pathname}`, `${s.op.issuer}/session/end`);
  assert.equal(end.searchParams.get('post_logout_redirect_uri'), s.gw.url('/'));
  assert.ok(end.searchParams.get('id_token_hint'));
  const confirm = await b.fetch(end.href);
  assert.equal(confirm.status, 200, 'the provider shows its logout confirmation');
});

test('a public client (no secret, PKCE only) signs in, and its rotated refresh tokens keep working', async (t) => {
  const s = await sessionGateway(t, { publicClient: true });
  const b = new Browser();
  const done = await s.signIn(b, '/auth/login');
  assert.equal(done.status, 302);
  assert.equal(done.headers.get('location'), '/');
  assert.equal((await api(b, s, '/api/me')).status, 200);
  assert.equal(s.up.seen.at(-1)!.headers['x-junction-principal'], 'alice');
  const first = [...s.op.stored('RefreshToken').keys()];
  for (let i = 0; i < 2; i++) {
    await expireSoon(s);
    assert.equal((await api(b, s, '/api/me')).status, 200);
  }
  assert.deepEqual(s.op.grants, ['authorization_code', 'refresh_token', 'refresh_token']);
  const [row] = await s.gw.gateway.store.db.selectFrom('sessions').selectAll().execute();
  const stored = s.sealer.open(row!.refresh_token!, `${row!.id}:refresh_token`)!;
  assert.ok(!first.includes(stored), 'the rotated refresh token replaced the first one');
});

test('an access token that has expired is refreshed before the request goes upstream', async (t) => {
  const s = await sessionGateway(t, { oidc: { accessTokenTtlS: 3 }, session: { refreshBeforeExpiryS: 0 } });
  const b = new Browser();
  await s.signIn(b);
  const [row] = await s.gw.gateway.store.db.selectFrom('sessions').selectAll().execute();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, row!.access_expires_at - Date.now()) + 50));
  assert.equal((await api(b, s, '/api/me')).status, 200);
  assert.deepEqual(s.op.grants, ['authorization_code', 'refresh_token']);
  const bearer = String(s.up.seen.at(-1)!.headers.authorization).slice('Bearer '.length);
  const me = await fetch(`${s.op.issuer}/me`, { headers: { authorization: `Bearer ${bearer}` } });
  assert.equal(me.status, 200, 'the upstream got a live token');
});
