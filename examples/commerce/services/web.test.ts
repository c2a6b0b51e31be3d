import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { escapeHtml, start } from './web.ts';

async function startWeb(t: TestContext) {
  const web = await start({ port: 0 });
  t.after(() => web.close());
  return web;
}

test('the page shows who the gateway says is signed in, every value escaped', async (t) => {
  const { url } = await startWeb(t);
  const res = await fetch(`${url}/shop`, {
    headers: {
      'x-junction-principal': 'demo"><b>',
      'x-junction-name': '<script>alert(1)</script>',
      'x-junction-email': `"><img src=x onerror='alert(2)'>`,
      'x-junction-csrf-token': 'tok"><script>',
      'x-junction-csp-nonce': 'n0nce"><x',
    },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  const html = await res.text();
  assert.ok(!html.includes('<script>alert'), 'no markup from a header');
  assert.ok(!html.includes('<img') && !html.includes('<b>') && !html.includes('<x'));
  assert.ok(html.includes('<strong id="user">&lt;script&gt;alert(1)&lt;/script&gt;</strong>'));
  assert.ok(html.includes('(&quot;&gt;&lt;img src=x onerror=&#39;alert(2)&#39;&gt;)'));
  assert.ok(html.includes('<code>demo&quot;&gt;&lt;b&gt;</code>'));
  assert.ok(html.includes('<meta name="csrf-token" content="tok&quot;&gt;&lt;script&gt;">'));
  assert.ok(html.includes('<script nonce="n0nce&quot;&gt;&lt;x">'));
});

test('a percent-encoded name (non-ASCII claims) is shown decoded; without a nonce there is no script', async (t) => {
  const { url } = await startWeb(t);
  const html = await (
    await fetch(`${url}/shop/`, {
      headers: { 'x-junction-principal': 'jy', 'x-junction-name': 'J%C3%BCrgen' },
    })
  ).text();
  assert.ok(html.includes('<strong id="user">Jürgen</strong>'));
  assert.ok(!html.includes('<script'));
  const anonymous = await (await fetch(`${url}/shop`)).text();
  assert.ok(anonymous.includes('Not signed in.'));
});

test('the cart belongs to the signed-in subject and takes product ids only', async (t) => {
  const { url } = await startWeb(t);
  const add = (productId: unknown, who?: string) =>
    fetch(`${url}/shop/cart`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(who ? { 'x-junction-principal': who } : {}) },
      body: JSON.stringify({ productId }),
    });
  assert.equal((await add('prd_mug')).status, 401);
  assert.equal((await add('<b>', 'demo')).status, 400);
  assert.deepEqual(await (await add('prd_mug', 'demo')).json(), { cart: ['prd_mug'] });
  assert.deepEqual(await (await add('prd_tee', 'demo')).json(), { cart: ['prd_mug', 'prd_tee'] });
  assert.deepEqual(await (await add('prd_tee', 'other')).json(), { cart: ['prd_tee'] });
  const page = await (await fetch(`${url}/shop`, { headers: { 'x-junction-principal': 'demo' } })).text();
  assert.ok(page.includes('In your cart: prd_mug, prd_tee.'));
});

test('escapeHtml covers the five characters that matter in text and attributes', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
});
