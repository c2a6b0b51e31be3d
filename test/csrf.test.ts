/**
 * `auth.csrf` (Q38) behind a real sign-in: cross-site form posts are refused, same-site state changes
 * need the signed double-submit token bound to the session, safe methods pass untouched.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startTestGateway } from './helpers/gateway.ts';
import { api, Browser, type SessionSetup, sessionGateway } from './helpers/session.ts';
import { startUpstream } from './helpers/upstream.ts';

const SECRET = randomBytes(32).toString('base64');
const CSRF = {
  'auth.csrf': { secret: SECRET, tokenPath: '/auth/csrf', allowedOrigins: ['https://app.example'] },
};

async function signedIn(s: SessionSetup): Promise<{ b: Browser; token: string }> {
  const b = new Browser();
  await s.signIn(b);
  const res = await api(b, s, '/auth/csrf');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const { token } = (await res.json()) as { token: string };
  assert.equal(b.cookie(s.gw.url(), '__Host-jx_csrf'), token);
  return { b, token };
}

async function problemCode(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}

test('a cross-site form post with the session cookie is refused with 403 csrf_rejected', async (t) => {
  const s = await sessionGateway(t, { after: CSRF });
  const { b, token } = await signedIn(s);
  const seen = s.up.seen.length;
  const res = await b.fetch(s.gw.url('/account/email'), {
    method: 'POST',
    headers: {
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
      'content-type': 'application/x-www-form-urlencoded',
      // Even a correct token does not help a request from another origin.
      'x-csrf-token': token,
    },
    body: 'email=attacker%40evil.example',
  });
  assert.equal(res.status, 403);
  assert.equal(await problemCode(res), 'csrf_rejected');
  assert.equal(s.up.seen.length, seen, 'the upstream never saw it');
  assert.ok(
    s.audit.some(
      (e) => e.action === 'auth.deny' && e.reason === 'csrf: origin_mismatch' && e.actor?.id === 'alice',
    ),
  );
});

test('without Origin, Sec-Fetch-Site cross-site or same-site is refused; Origin null too', async (t) => {
  const s = await sessionGateway(t, { after: CSRF });
  const { b, token } = await signedIn(s);
  for (const headers of [
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: 'null' },
  ]) {
    const res = await api(b, s, '/api/orders', {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': token },
    });
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal(await problemCode(res), 'csrf_rejected');
  }
});

test('Origin null from the page itself (Referrer-Policy no-referrer) passes with Sec-Fetch-Site same-origin only', async (t) => {
  const s = await sessionGateway(t, { after: CSRF });
  const { b, token } = await signedIn(s);
  const post = (headers: Record<string, string>) =>
    api(b, s, '/api/orders', { method: 'POST', headers: { ...headers, 'x-csrf-token': token } });
  const own = await post({ origin: 'null', 'sec-fetch-site': 'same-origin' });
  assert.equal(own.status, 200);
  for (const site of ['cross-site', 'same-site', 'none']) {
    const res = await post({ origin: 'null', 'sec-fetch-site': site });
    assert.equal(res.status, 403, site);
    assert.equal(await problemCode(res), 'csrf_rejected');
  }
});

test('a same-origin state change needs the token: missing, wrong or foreign tokens are refused', async (t) => {
  const s = await sessionGateway(t, { after: CSRF });
  const { b, token } = await signedIn(s);
  const own = { origin: s.gw.url(''), 'sec-fetch-site': 'same-origin' };
  const post = (headers: Record<string, string>) =>
    api(b, s, '/api/orders', { method: 'POST', headers: { ...own, ...headers } });

  assert.equal((await post({})).status, 403, 'no token');
  const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  assert.equal((await post({ 'x-csrf-token': altered })).status, 403, 'altered');
  const other = await signedIn(s);
  assert.equal((await post({ 'x-csrf-token': other.token })).status, 403, "another session's token");

  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const res = await api(b, s, '/api/orders/1', { method, headers: { ...own, 'x-csrf-token': token } });
    assert.equal(res.status, 200, method);
    assert.equal(s.up.seen.at(-1)!.method, method);
  }
  const allowed = await post({ origin: 'https://app.example', 'x-csrf-token': token });
  assert.equal(allowed.status, 200, 'an allowed origin');
});

test('after signing in again the old token no longer matches the new session', async (t) => {
  const s = await sessionGateway(t, { after: CSRF });
  const { b, token } = await signedIn(s);
  await s.signIn(b);
  const res = await api(b, s, '/api/orders', { method: 'POST', headers: { 'x-csrf-token': token } });
  assert.equal(res.status, 403);
});

test('safe methods pass untouched, get a token cookie and hand the token to the upstream', async (t) => {
  const s = await sessionGateway(t, { after: CSRF });
  const b = new Browser();
  await s.signIn(b);
  const res = await api(b, s, '/orders', {
    headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
  });
  assert.equal(res.status, 200);
  const cookie = b.cookie(s.gw.url(), '__Host-jx_csrf');
  assert.ok(cookie, 'token cookie set on the proxied response');
  const line = res.headers.getSetCookie().find((c) => c.startsWith('__Host-jx_csrf='))!;
  assert.match(line, /; Path=\/; Secure; SameSite=Strict$/);
  assert.doesNotMatch(line, /HttpOnly/, 'the page script reads it');
  assert.equal(s.up.seen.at(-1)!.headers['x-junction-csrf-token'], cookie);
  const again = await api(b, s, '/orders');
  assert.equal(again.headers.getSetCookie().length, 0, 'a valid token is kept');
  const post = await api(b, s, '/api/orders', { method: 'POST', headers: { 'x-csrf-token': cookie } });
  assert.equal(post.status, 200, 'no Origin and no Sec-Fetch-Site: the token decides');
});

test('requests without cookies (API clients) are not subject to CSRF checks', async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [{ name: 'api', match: { path: '/*' }, proxy: { upstream: 'app' }, policies: CSRF }],
  });
  const bare = await fetch(gw.url('/api/orders'), {
    method: 'POST',
    headers: { origin: 'https://evil.example' },
  });
  assert.equal(bare.status, 200);
  const withCookie = await fetch(gw.url('/api/orders'), {
    method: 'POST',
    headers: { origin: 'https://evil.example', cookie: 'anything=1' },
  });
  assert.equal(withCookie.status, 403, 'any cookie is an ambient credential');
});
