/**
 * The README's "Identity" commands (issue #4) against `npm start`: examples/commerce/start.ts on free
 * ports, with its own store and PKI directory. Signing in to the shop through the gateway
 * (auth.session against the demo OpenID Provider, auth.csrf, security.headers), the internal
 * inventory service over mTLS behind an API key, and the staff documents behind auth.jwt + auth.abac.
 * Each check fails when its policy (or the upstream's tls) is taken out of junction.yaml.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { GATEWAY_SPIFFE_ID } from '../examples/commerce/pki.ts';
import { demoToken } from '../examples/commerce/token.ts';
import { Browser } from './helpers/browser.ts';
import { CONFIG, ROOT, startDemo } from './helpers/demo.ts';

/** Runs a command of the README (`npm run junction …`, `npm run demo:token …`) as npm would. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ code, stdout }) : reject(new Error(stderr))));
  });
}

/** An HTTPS GET straight to the inventory service, past the gateway; resolves to the status or the error. */
function direct(url: string, clientCert?: { cert: Buffer; key: Buffer }): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, ...clientCert }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', resolve);
    req.end();
  });
}

// The timeout only stops a demo that never comes up from holding the run; it takes 5–10 s.
test('the demo shows sign-in, mTLS to an internal service and ABAC (README "Identity")', {
  timeout: 120_000,
}, async (t) => {
  const { gw, ports, env, data } = await startDemo(t, 'demo-identity');

  await t.test('the shop signs the browser in through the gateway, as demo / demo (Q17)', async () => {
    const b = new Browser();
    const nav = await b.fetch(`${gw}/shop`, { headers: { accept: 'text/html' } });
    assert.equal(nav.status, 302);
    assert.equal(nav.headers.get('location'), '/auth/login?return=%2Fshop');
    const login = await b.fetch(`${gw}/auth/login?return=%2Fshop`, { headers: { accept: 'text/html' } });
    assert.equal(login.status, 302);
    const authorize = new URL(login.headers.get('location')!);
    assert.equal(authorize.origin, `http://localhost:${ports.oidc}`);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');

    // The provider's sign-in form, then the credentials.
    const form = await b.fetch(await b.followUntil(authorize.href, (u) => u.includes('/interaction/')));
    assert.equal(form.status, 200);
    const action = /<form method="post" action="([^"]+)"/.exec(await form.text())?.[1];
    assert.ok(action, 'the provider shows its sign-in form');
    const signedIn = await b.fetch(new URL(action, authorize).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'login=demo&password=demo',
    });
    const back = new URL(signedIn.headers.get('location')!, authorize).href;
    const callback = await b.followUntil(back, (u) => u.startsWith(`${gw}/auth/callback?`));
    const done = await b.fetch(callback);
    assert.equal(done.status, 302);
    assert.equal(done.headers.get('location'), '/shop');
    assert.ok(b.cookie(gw, '__Host-jx_session'), 'the session cookie is set');

    const page = await b.fetch(`${gw}/shop`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(
      html,
      /Signed in as <strong id="user">Dee Mo<\/strong> \(demo@commerce\.example\), subject <code>demo<\/code>/,
    );

    // Q39: security headers, and the page's inline script runs only with this response's nonce.
    const csp = page.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, `a CSP nonce: ${csp}`);
    assert.ok(html.includes(`<script nonce="${nonce}">`));
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');

    // Q38: a state change needs the site's origin and the CSRF token the page was given.
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1];
    assert.ok(token && token === b.cookie(gw, '__Host-jx_csrf'), 'the page carries the token of its cookie');
    const cart = (headers: Record<string, string>) =>
      b.fetch(`${gw}/shop/cart`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ productId: 'prd_mug' }),
      });
    const noToken = await cart({ origin: gw });
    assert.equal(noToken.status, 403);
    assert.equal(((await noToken.json()) as { code: string }).code, 'csrf_rejected');
    const crossSite = await cart({ origin: 'https://evil.example', 'x-csrf-token': token });
    assert.equal(crossSite.status, 403);
    await crossSite.arrayBuffer();
    const added = await cart({ origin: gw, 'x-csrf-token': token });
    assert.equal(added.status, 200);
    assert.deepEqual(await added.json(), { cart: ['prd_mug'] });

    // Sign out: the session ends at the gateway, and the browser goes on to the provider's logout.
    const out = await b.fetch(`${gw}/auth/logout`, { method: 'POST', headers: { origin: gw } });
    assert.equal(out.status, 303);
    assert.ok(out.headers.get('location')!.startsWith(`http://localhost:${ports.oidc}/session/end`));
    const after = await b.fetch(`${gw}/shop`, { headers: { accept: 'application/json' } });
    assert.equal(after.status, 401);
    assert.equal(((await after.json()) as { code: string }).code, 'session_required');
  });

  await t.test(
    'inventory answers through the gateway over mTLS, for an API key with the stock role (Q15, Q33)',
    async () => {
      const created = await run(
        ['src/cli/main.ts', 'keys', 'create', '-c', CONFIG, '--name', 'demo', '--role', 'stock'],
        env,
      );
      const key = /^secret: +(\S+)$/m.exec(created.stdout)?.[1];
      assert.ok(key, created.stdout);
      const res = await fetch(`${gw}/inventory/prd_mug`, { headers: { 'x-api-key': key } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { onHand: number; servedTo: string; requestedBy: string };
      assert.equal(body.onHand, 42);
      assert.equal(body.servedTo, GATEWAY_SPIFFE_ID, 'the gateway presented its client certificate');
      assert.match(body.requestedBy, /^jk_/);

      const anonymous = await fetch(`${gw}/inventory/prd_mug`);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as { code: string }).code, 'api_key_missing');
      const other = await fetch(`http://127.0.0.1:${ports.admin}/admin/v1/keys`, {
        method: 'POST',
        headers: { authorization: 'Bearer junction-demo-admin-token', 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'no-stock', roles: ['reader'] }),
      });
      assert.equal(other.status, 201);
      const { secret } = (await other.json()) as { secret: string };
      const wrongRole = await fetch(`${gw}/inventory/prd_mug`, { headers: { 'x-api-key': secret } });
      assert.equal(wrongRole.status, 403, 'auth.rbac: the key lacks the stock role');
      await wrongRole.arrayBuffer();

      // Past the gateway: no client certificate, no HTTP answer; the gateway's certificate gets one.
      const url = `https://127.0.0.1:${ports.inventory}/inventory/prd_mug`;
      assert.ok((await direct(url)) instanceof Error, 'refused without a client certificate');
      const pki = join(data, 'pki');
      const gatewayCert = {
        cert: readFileSync(join(pki, 'gateway.crt')),
        key: readFileSync(join(pki, 'gateway.key')),
      };
      assert.equal(await direct(url, gatewayCert), 200);
    },
  );

  await t.test(
    'an employee reads their own documents; someone else’s are 403 naming no policy (Q33 ABAC)',
    async () => {
      const alice = (await run(['examples/commerce/token.ts', 'alice'], env)).stdout.trim();
      const get = (path: string, token?: string) =>
        fetch(`${gw}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

      const own = await get('/staff/alice/documents/doc_rota', alice);
      assert.equal(own.status, 200);
      assert.deepEqual(await own.json(), {
        id: 'doc_rota',
        owner: 'alice',
        title: 'Warehouse rota, week 48',
        readBy: 'alice',
      });

      const other = await get('/staff/bob/documents/doc_payroll', alice);
      assert.equal(other.status, 403);
      assert.equal(other.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const text = await other.text();
      assert.equal((JSON.parse(text) as { code: string }).code, 'forbidden');
      for (const word of ['permit', 'employee', 'owner', 'hour', 'Document', 'policy', 'Cedar', 'abac']) {
        assert.ok(!text.includes(word), `the answer mentions ${word}: ${text}`);
      }

      // A contractor owns nothing here either: being an employee is part of the rule.
      const carol = await demoToken('carol', join(ROOT, CONFIG), env);
      const contractor = await get('/staff/carol/documents/doc_rota', carol);
      assert.equal(contractor.status, 403);
      await contractor.arrayBuffer();

      const none = await get('/staff/alice/documents/doc_rota');
      assert.equal(none.status, 401);
      assert.equal(((await none.json()) as { code: string }).code, 'jwt_missing');
    },
  );
});
