import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import * as client from 'openid-client';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, start } from './oidc.ts';

const GATEWAY = 'http://localhost:18080';

async function startProvider(t: TestContext) {
  const op = await start({ port: 0, gatewayUrl: GATEWAY });
  t.after(() => op.close());
  const config = await client.discovery(
    new URL(op.url),
    DEMO_CLIENT_ID,
    undefined,
    client.ClientSecretBasic(DEMO_CLIENT_SECRET),
    { execute: [client.allowInsecureRequests] },
  );
  return { op, config };
}

/** One request to the provider with its cookies (one value per name, the latest wins). */
async function browse(url: string, jar: Map<string, string>, init: RequestInit = {}): Promise<Response> {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as object), cookie },
  });
  for (const c of res.headers.getSetCookie()) {
    const pair = c.split(';')[0]!;
    jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
  }
  return res;
}

test('the demo user signs in with PKCE and gets tokens with a refresh token', async (t) => {
  const { op, config } = await startProvider(t);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: `${GATEWAY}/auth/callback`,
    scope: 'openid email profile offline_access',
    prompt: 'consent',
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const jar = new Map<string, string>();
  let res = await browse(authorize.href, jar);
  const interaction = new URL(res.headers.get('location')!, op.url).href;
  const formPage = await browse(interaction, jar);
  assert.equal(formPage.status, 200);
  assert.match(await formPage.text(), /<form method="post"/);

  const wrong = await browse(`${interaction}/login`, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'login=%3Cscript%3Ealert(1)%3C%2Fscript%3E&password=x',
  });
  assert.equal(wrong.status, 401);
  const html = await wrong.text();
  assert.ok(!html.includes('<script>'), 'the login name is escaped');
  assert.ok(html.includes('&#60;script&#62;'));

  res = await browse(`${interaction}/login`, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'login=demo&password=demo',
  });
  let next = new URL(res.headers.get('location')!, op.url).href;
  for (let hops = 0; !next.startsWith(GATEWAY); hops++) {
    assert.ok(hops < 10, `still at the provider after ${hops} hops: ${next}`);
    res = await browse(next, jar);
    const location = res.headers.get('location');
    assert.ok(location, `${next} answered ${res.status}: ${await res.text()}`);
    next = new URL(location, op.url).href;
  }
  const tokens = await client.authorizationCodeGrant(config, new URL(next), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  assert.ok(tokens.refresh_token);
  assert.equal(tokens.expires_in, 120);
  assert.equal(tokens.claims()?.sub, 'demo');
  const info = await client.fetchUserInfo(config, tokens.access_token, 'demo');
  assert.equal(info.email, 'demo@commerce.example');
});

test('an authorization request without PKCE is refused', async (t) => {
  const { op } = await startProvider(t);
  const url = new URL(`${op.url}/auth`);
  url.search = new URLSearchParams({
    client_id: DEMO_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${GATEWAY}/auth/callback`,
  }).toString();
  const res = await fetch(url, { redirect: 'manual' });
  const location = new URL(res.headers.get('location')!);
  assert.equal(location.searchParams.get('error'), 'invalid_request');
  assert.match(location.searchParams.get('error_description')!, /PKCE/);
});
