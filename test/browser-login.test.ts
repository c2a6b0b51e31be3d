/**
 * The demo's sign-in in a real browser: Debian's Chromium (`apt-get install -y chromium`, never a
 * downloaded build) driven by playwright-core, against `npm start` on free ports (helpers/demo.ts).
 * What test/demo-identity.test.ts checks with fetch, here as the browser does it:
 *
 * - Q17: /shop → the gateway's /auth/login → the provider's form (code flow, PKCE S256) → demo / demo
 *   → back on /shop with the user's name; the browser holds the `__Host-` session cookie over
 *   http://localhost, and the page's scripts cannot read it (HttpOnly).
 * - Q38: the page's button posts with the CSRF token its script copies into `x-csrf-token`; a form
 *   posted to the shop from a page on another origin is refused — 403 csrf_rejected from a page on
 *   another port of localhost (same site: the browser sends the cookies, auth.csrf stops it), no
 *   session at all from a page on 127.0.0.1 (another site: SameSite keeps the cookies back).
 * - Q39: the CSP header, the page's own script runs by its nonce, markup injected into the page
 *   cannot run script; a script payload echoed by the provider's sign-in page shows as text.
 * - Signing out ends the gateway's session and the provider's: /shop asks to sign in again.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { startDemo } from './helpers/demo.ts';

const CHROMIUM = '/usr/bin/chromium';
// The flags this machine's Chromium needs (as root, on a closed network); Playwright adds its own
// fresh, empty --user-data-dir and refuses one in args.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const STEP_MS = 15_000;

// Writes window.__xss if it ever runs, as a script element or as an event handler.
const PAYLOAD = '"><img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

/** What the payload (or an injected script) set in a page: nothing, unless it ran. */
const xss = (page: Page) => page.evaluate(() => (globalThis as { __xss?: unknown }).__xss);

// Run in the signed-in shop page, as if a value had reached it unescaped: an event handler and an
// inline script, neither with the nonce. Resolves to the CSP directives the browser reported.
const INJECT = `(async () => {
  const seen = [];
  document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective));
  document.body.insertAdjacentHTML('beforeend', '<img id="injected" src="/shop/none.png" onerror="window.__xss=3">');
  const s = document.createElement('script');
  s.textContent = 'window.__xss = 4';
  document.body.append(s);
  const img = document.getElementById('injected');
  await new Promise((r) => (img.complete ? r() : img.addEventListener('error', r)));
  // The reports are queued as events: wait for both, for a while.
  for (let i = 0; i < 500 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  return seen.sort();
})()`;

/** A page of another origin that posts a form to the shop's cart as soon as it loads. */
function attacker(target: string): Promise<{ port: number; close: () => Promise<void> }> {
  // text/plain makes the body `{"productId":"prd_evil","x":"="}`, JSON the web front would accept.
  const html = `<!doctype html><title>Win a mug</title>
<form method="post" action="${target}" enctype="text/plain">
<input type="hidden" name='{"productId":"prd_evil","x":"' value='"}'></form>
<script>document.forms[0].submit()</script>`;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/**
 * Opens `url`, whose form posts to the shop's cart, and returns the status of the gateway's answer and
 * the reason its audit log gives. The answer itself is `application/problem+xml` (a navigation's
 * Accept lists application/xml), which Chromium does not render, so the page keeps no body to read.
 */
async function postFrom(page: Page, url: string, cart: string, admin: string) {
  const answered = page.waitForResponse((r) => r.url() === cart && r.request().method() === 'POST');
  await page.goto(url).catch(() => undefined); // the navigation ends in Chromium's error page
  const res = await answered;
  const requestId = await res.headerValue('x-request-id');
  assert.ok(requestId, 'the gateway answered the post');
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const audit = await fetch(`${admin}/admin/v1/audit?action=auth.deny&limit=50`, {
      headers: { authorization: 'Bearer junction-demo-admin-token' },
    });
    const { data } = (await audit.json()) as {
      data: { request_id: string; reason: string; resource: string }[];
    };
    const denied = data.find((r) => r.request_id === requestId);
    if (denied) return { status: res.status(), reason: denied.reason, route: denied.resource };
    assert.ok(Date.now() < deadline, `no audit record for ${requestId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The timeout only stops a demo or browser that never comes up from holding the run; it takes 5–15 s.
test('a real browser signs in to the demo shop, and CSRF, CSP and escaping hold there (Q17, Q38, Q39)', {
  timeout: 60_000,
}, async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\` (.ci/run does)`,
  );
  // The browser starts while the demo does.
  const launching = chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  launching.catch(() => undefined); // a failed launch is reported where it is awaited, below
  t.after(async () => {
    const b = await launching.catch(() => undefined);
    await b?.close();
  });
  const demo = await startDemo(t, 'browser-login');
  const { gw } = demo;
  const op = `http://localhost:${demo.ports.oidc}`;
  const browser: Browser = await launching;
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  const page = await context.newPage();
  const navigations: string[] = [];
  page.on('request', (r) => {
    if (r.isNavigationRequest()) navigations.push(r.url());
  });

  // The payload is live: where it lands as markup, it runs.
  const control = await context.newPage();
  await control.setContent(`<p>${PAYLOAD}</p>`);
  await control.waitForFunction('window.__xss !== undefined');
  await control.close();

  // Q17: the gateway sends the browser to the provider with a PKCE challenge.
  await page.goto(`${gw}/shop`);
  await page.waitForURL(`${op}/interaction/**`);
  await page.getByRole('heading', { name: 'Commerce demo sign-in' }).waitFor();
  assert.ok(navigations.includes(`${gw}/auth/login?return=%2Fshop`), navigations.join('\n'));
  const authorize = new URL(navigations.find((u) => u.startsWith(`${op}/auth?`))!);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(authorize.searchParams.get('code_challenge'));
  assert.equal(authorize.searchParams.get('redirect_uri'), `${gw}/auth/callback`);

  // Q39 on the provider's page: a wrong sign-in echoes the user name, as text.
  await page.getByLabel('User').fill(PAYLOAD);
  await page.getByLabel('Password').fill('not-the-password');
  await Promise.all([page.waitForURL(`${op}/interaction/**/login`), page.getByRole('button').click()]);
  await page.waitForLoadState('load');
  assert.equal(
    await page.getByRole('alert').textContent(),
    `Unknown user or wrong password for "${PAYLOAD}"`,
  );
  assert.equal(await page.locator('img, script').count(), 0, 'the payload made no elements');
  assert.equal(await xss(page), undefined, 'the payload did not run');

  // Sign in as demo / demo: the provider sends the browser back through the gateway's callback.
  await page.getByLabel('User').fill('demo');
  await page.getByLabel('Password').fill('demo');
  const landed = page.waitForResponse((r) => r.url() === `${gw}/shop` && r.request().isNavigationRequest());
  await page.getByRole('button', { name: 'Sign in' }).click();
  const shop = await landed;
  await page.waitForURL(`${gw}/shop`);
  assert.equal(shop.status(), 200);
  assert.ok(
    navigations.some((u) => u.startsWith(`${gw}/auth/callback?code=`)),
    navigations.join('\n'),
  );
  assert.equal(await page.locator('#user').textContent(), 'Dee Mo');
  await page.getByText('Signed in as Dee Mo (demo@commerce.example), subject demo.').waitFor();

  // The session cookie is the browser's, over http://localhost, but no script of the page sees it.
  const cookies = await context.cookies(gw);
  const session = cookies.find((c) => c.name === '__Host-jx_session');
  assert.ok(session, `the browser keeps the session cookie: ${cookies.map((c) => c.name).join(', ')}`);
  assert.deepEqual(
    [session.httpOnly, session.secure, session.sameSite, session.path],
    [true, true, 'Lax', '/'],
  );
  const visible = String(await page.evaluate('document.cookie'));
  assert.ok(!visible.includes('jx_session'), `document.cookie: ${visible}`);
  assert.match(visible, /__Host-jx_csrf=/, 'the CSRF cookie is for the page to read');

  // Q39: the CSP is on the page, and the browser enforces it.
  const headers = await shop.allHeaders();
  const csp = headers['content-security-policy'] ?? '';
  assert.match(csp, /script-src [^;]*'nonce-[^']+'/, `a CSP with a nonce: ${csp}`);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(headers['x-frame-options'], 'DENY');
  const violations = await page.evaluate(INJECT);
  assert.deepEqual(violations, ['script-src-attr', 'script-src-elem']);
  assert.equal(await xss(page), undefined, 'no injected script ran');

  // Q38: the page's own script (it runs: it has the nonce) adds to the cart with the CSRF token.
  const cart = `${gw}/shop/cart`;
  const posted = page.waitForRequest((r) => r.url() === cart && r.method() === 'POST');
  await page.getByRole('button', { name: 'Add a mug to the cart' }).click();
  const token = (await posted).headers()['x-csrf-token'];
  assert.ok(token, 'the page sent its CSRF token');
  assert.equal(token, (await context.cookies(gw)).find((c) => c.name === '__Host-jx_csrf')?.value);
  await page.locator('#cart', { hasText: '200 {"cart":["prd_mug"]}' }).waitFor();

  // Q38: the same post from a page elsewhere. Another port of localhost is the same site, so the
  // browser sends both cookies: auth.csrf refuses it on its Origin.
  const evil = await attacker(cart);
  t.after(evil.close);
  const admin = `http://127.0.0.1:${demo.ports.admin}`;
  const sameSite = await postFrom(page, `http://localhost:${evil.port}/`, cart, admin);
  // 403 csrf_rejected; its audit record names the check that failed.
  assert.deepEqual(sameSite, { status: 403, reason: 'csrf: origin_mismatch', route: 'route:shop-pages' });
  // 127.0.0.1 is another site: SameSite keeps the cookies back, so the post has no session.
  const crossSite = await postFrom(page, `http://127.0.0.1:${evil.port}/`, cart, admin);
  assert.deepEqual(crossSite, { status: 401, reason: 'no_session', route: 'route:shop-pages' });
  await page.goto(`${gw}/shop`);
  await page.getByText('In your cart: prd_mug.').waitFor();

  // Sign out: the gateway's session ends at once, then the provider asks to end its own.
  await Promise.all([
    page.waitForURL(`${op}/session/end**`),
    page.getByRole('button', { name: 'Sign out' }).click(),
  ]);
  const after = await page.request.get(`${gw}/shop`, { headers: { accept: 'application/json' } });
  assert.equal(after.status(), 401);
  assert.equal(((await after.json()) as { code: string }).code, 'session_required');
  assert.ok(!(await context.cookies(gw)).some((c) => c.name === '__Host-jx_session'));
  // Once the provider has ended its session too, it sends the browser home: / → /shop, which asks to
  // sign in again — the provider's form, not a silent sign-in.
  const before = navigations.length;
  await Promise.all([
    page.waitForURL(`${op}/interaction/**`),
    page.getByRole('button', { name: /yes/i }).click(),
  ]);
  await page.getByRole('heading', { name: 'Commerce demo sign-in' }).waitFor();
  assert.ok(navigations.slice(before).includes(`${gw}/shop`), navigations.slice(before).join('\n'));
});
