/**
 * What `auth.session` refuses, each against the real provider: a wrong or replayed `state`, a code
 * redeemed with the wrong PKCE verifier or used twice, a callback from another browser, a provider
 * that says no, expired and tampered sessions, and return addresses off the site (Q17, RFC 9700).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { randomPKCECodeVerifier } from 'openid-client';
import { api, Browser, type SessionSetup, sessionGateway } from './helpers/session.ts';

async function code(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}

async function sessionCount(s: SessionSetup): Promise<number> {
  return (await s.gw.gateway.store.db.selectFrom('sessions').select('id').execute()).length;
}

function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.href;
}

test('a callback with a state this gateway never issued is refused', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  const callback = await s.startLogin(b);
  const forged = await api(b, s, withParam(callback, 'state', 'A'.repeat(43)).slice(s.gw.url('').length));
  assert.equal(forged.status, 400);
  assert.equal(await code(forged), 'session_state_invalid');
  const missing = await api(b, s, '/auth/callback?code=abc');
  assert.equal(await code(missing), 'session_state_invalid');
  assert.equal(await sessionCount(s), 0);
  assert.equal(b.cookie(s.gw.url(), '__Host-jx_session'), undefined);
  // The genuine callback still completes: a forged one does not burn the real login.
  assert.equal((await b.fetch(callback)).status, 302);
  assert.ok(s.audit.some((e) => e.action === 'auth.login' && e.reason === 'state_unknown'));
});

test('a replayed callback is refused: state is single-use', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  const callback = await s.startLogin(b);
  const first = await b.fetch(callback);
  assert.equal(first.status, 302);
  const replay = await b.fetch(callback);
  assert.equal(replay.status, 400);
  assert.equal(await code(replay), 'session_state_invalid');
  assert.equal(await sessionCount(s), 1);
  assert.deepEqual(s.op.grants, ['authorization_code'], 'the code went to the provider once');
});

test('a code redeemed with the wrong verifier is refused by the provider (PKCE)', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  const callback = await s.startLogin(b);
  const state = new URL(callback).searchParams.get('state')!;
  // Swap the stored verifier for another, sealed exactly as the gateway seals its own.
  const id = createHash('sha256').update(state).digest('base64url');
  await s.gw.gateway.store.db
    .updateTable('session_logins')
    .set({ code_verifier: s.sealer.seal(randomPKCECodeVerifier(), `${id}:code_verifier`) })
    .where('id', '=', id)
    .execute();
  const res = await b.fetch(callback);
  assert.equal(res.status, 401);
  assert.equal(await code(res), 'session_login_failed');
  assert.equal(await sessionCount(s), 0);
  assert.deepEqual(s.op.grants, []);
  assert.ok(
    s.audit.some(
      (e) => e.action === 'auth.login' && e.outcome === 'failure' && /invalid_grant/.test(e.reason!),
    ),
  );
});

test('the token endpoint itself refuses a code without its verifier', async (t) => {
  const s = await sessionGateway(t);
  const callback = await s.startLogin(new Browser());
  const res = await fetch(`${s.op.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('junction-bff:test-client-secret-0123456789abcdef').toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: new URL(callback).searchParams.get('code')!,
      redirect_uri: s.gw.url('/auth/callback'),
      code_verifier: randomPKCECodeVerifier(),
    }),
  });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
});

test('a code stolen from one login and pasted into another login is refused', async (t) => {
  const s = await sessionGateway(t);
  const victim = await s.startLogin(new Browser());
  const attacker = new Browser();
  const own = await s.startLogin(attacker);
  // The attacker's own state and login cookie, the victim's code: PKCE ties the code to the
  // victim's verifier (RFC 9700 §4.5, authorization code injection).
  const injected = withParam(own, 'code', new URL(victim).searchParams.get('code')!);
  const res = await attacker.fetch(injected);
  assert.equal(res.status, 401);
  assert.equal(await code(res), 'session_login_failed');
  assert.equal(await sessionCount(s), 0);
});

test('a used code replayed in a fresh login is refused', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  const first = await s.startLogin(b);
  assert.equal((await b.fetch(first)).status, 302);
  const again = await s.startLogin(b);
  const replay = withParam(again, 'code', new URL(first).searchParams.get('code')!);
  const res = await b.fetch(replay);
  assert.equal(res.status, 401);
  assert.equal(await code(res), 'session_login_failed');
});

test('a callback opened in another browser finds no login (the login cookie binds it)', async (t) => {
  const s = await sessionGateway(t);
  const callback = await s.startLogin(new Browser());
  const other = new Browser();
  const res = await other.fetch(callback);
  assert.equal(res.status, 400);
  assert.equal(await code(res), 'session_state_invalid');
  assert.equal(other.cookie(s.gw.url(), '__Host-jx_session'), undefined);
  assert.ok(s.audit.some((e) => e.reason === 'state_other_browser'));
});

test('a provider that refuses the sign-in (access_denied) gets no session', async (t) => {
  const s = await sessionGateway(t);
  s.op.deny = true;
  const b = new Browser();
  const callback = await s.startLogin(b);
  assert.equal(new URL(callback).searchParams.get('error'), 'access_denied');
  const res = await b.fetch(callback);
  assert.equal(res.status, 401);
  assert.equal(await code(res), 'session_login_failed');
  assert.equal(await sessionCount(s), 0);
});

test('an idle or absolutely expired session is refused and deleted', async (t) => {
  const s = await sessionGateway(t);
  for (const column of ['expires_at', 'absolute_expires_at'] as const) {
    const b = new Browser();
    await s.signIn(b);
    assert.equal((await api(b, s, '/api/me')).status, 200);
    await s.gw.gateway.store.db
      .updateTable('sessions')
      .set({ [column]: Date.now() - 1 })
      .execute();
    const api401 = await api(b, s, '/api/me');
    assert.equal(api401.status, 401, column);
    assert.equal(await code(api401), 'session_required');
    assert.equal(await sessionCount(s), 0, `${column}: deleted`);
    assert.equal(b.cookie(s.gw.url(), '__Host-jx_session'), undefined, 'cookie cleared');
  }
  assert.equal(s.audit.filter((e) => e.reason === 'session_expired').length, 2);
});

test('a tampered or made-up session cookie is refused', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  await s.signIn(b);
  const real = b.cookie(s.gw.url(), '__Host-jx_session')!;
  const flipped = (real[0] === 'A' ? 'B' : 'A') + real.slice(1);
  for (const value of [flipped, `${real}x`, 'forged', "' OR '1'='1"]) {
    const res = await api(new Browser(), s, '/api/me', { headers: { cookie: `__Host-jx_session=${value}` } });
    assert.equal(res.status, 401, value);
    assert.equal(await code(res), 'session_required');
    assert.match(res.headers.get('set-cookie') ?? '', /__Host-jx_session=;/);
  }
  const html = await new Browser().fetch(s.gw.url('/orders'), {
    headers: { accept: 'text/html', cookie: `__Host-jx_session=${flipped}` },
  });
  assert.equal(html.status, 302);
  assert.equal(html.headers.get('location'), '/auth/login?return=%2Forders');
  assert.equal((await api(b, s, '/api/me')).status, 200, 'the real session is untouched');
  assert.ok(s.audit.some((e) => e.reason === 'session_unknown'));
  assert.ok(s.audit.some((e) => e.reason === 'session_malformed'));
});

test('the login refuses return addresses off the site (no open redirect)', async (t) => {
  const s = await sessionGateway(t);
  const b = new Browser();
  for (const target of [
    'javascript:alert(1)',
    'https://evil.example/',
    '//evil.example/x',
    '/\\evil.example',
    '/.//evil.example',
    'data:text/html,<script>alert(1)</script>',
    '/ok\r\nset-cookie: x=1',
  ]) {
    const res = await b.fetch(s.gw.url(`/auth/login?return=${encodeURIComponent(target)}`));
    assert.equal(res.status, 400, target);
    assert.equal(await code(res), 'session_return_invalid');
    assert.equal(res.headers.get('location'), null);
  }
  assert.equal(
    await s.gw.gateway.store.db
      .selectFrom('session_logins')
      .select('id')
      .execute()
      .then((r) => r.length),
    0,
  );
  const ok = await s.signIn(b, '/auth/login?return=%2Fshop%2Fcart%3Fitem%3D%253Cb%253E');
  assert.equal(ok.headers.get('location'), '/shop/cart?item=%3Cb%3E');
});
