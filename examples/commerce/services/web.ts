/**
 * The shop's web front (Q17, Q38, Q39): server-rendered pages behind the gateway, which signs the
 * browser in (`auth.session`) and forwards who it is. The page trusts the `x-junction-*` headers
 * because only the gateway reaches it (it drops any a client sends) and escapes every value anyway.
 *
 * - `GET /shop`: who is signed in, a button that adds a mug to the cart, a sign-out form;
 * - `POST /shop/cart` `{ productId }`: a state change, so the gateway's `auth.csrf` wants the
 *   `x-csrf-token` header, which the page's script copies from the token the gateway handed it.
 *
 * The one inline script carries the nonce the gateway put in the page's Content-Security-Policy
 * (`x-junction-csp-nonce`); without a nonce the page has no script.

 */
import http from 'node:http';
import {
  HttpError,
  listen,
  type RouteContext,
  type RunningService,
  readJson,
  router,
  type StartOptions,
  sendJson,
} from './http.ts';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** A forwarded header's value: the gateway percent-encodes non-ASCII claim values. */
function header(ctx: RouteContext, name: string): string | undefined {
  const raw = ctx.req.headers[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === '') return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

// Copies the CSRF token into the header auth.csrf checks; the answer is shown as text, never as HTML.
const SCRIPT = `
const out = document.getElementById('cart');
document.getElementById('add').addEventListener('click', async () => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const res = await fetch('/shop/cart', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': token },
    body: JSON.stringify({ productId: 'prd_mug' }),
  });
  out.textContent = res.status + ' ' + (await res.text());
});`;

function page(ctx: RouteContext, cart: readonly string[]): string {
  const subject = header(ctx, 'x-junction-principal');
  const name = header(ctx, 'x-junction-name') ?? subject ?? '';
  const email = header(ctx, 'x-junction-email');
  const csrf = header(ctx, 'x-junction-csrf-token') ?? '';
  const nonce = header(ctx, 'x-junction-csp-nonce');
  const who =
    subject === undefined
      ? '<p>Not signed in.</p>'
      : `<p>Signed in as <strong id="user">${escapeHtml(name)}</strong>${email ? ` (${escapeHtml(email)})` : ''}, subject <code>${escapeHtml(subject)}</code>.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Commerce demo shop</title>
<meta name="csrf-token" content="${escapeHtml(csrf)}"></head>
<body><h1>Commerce demo shop</h1>
${who}
<p>In your cart: ${cart.length === 0 ? 'nothing yet' : escapeHtml(cart.join(', '))}.</p>
<p><button id="add" type="button">Add a mug to the cart</button> <output id="cart"></output></p>
<form method="post" action="/auth/logout"><button>Sign out</button></form>
${nonce === undefined ? '' : `<script nonce="${escapeHtml(nonce)}">${SCRIPT}</script>`}
</body></html>
`;
}

/**
 * @example
 * const web = await start({ port: 0 });
 * await fetch(`${web.url}/shop`, { headers: { 'x-junction-principal': 'demo' } });
 * await web.close();
 */
export function start(options: StartOptions): Promise<RunningService> {
  const carts = new Map<string, string[]>();
  const cartOf = (ctx: RouteContext) => {
    const subject = header(ctx, 'x-junction-principal');
    if (subject === undefined) throw new HttpError(401, 'not_signed_in', 'sign in through the gateway');
    let cart = carts.get(subject);
    if (cart === undefined) {
      cart = [];
      carts.set(subject, cart);
    }
    return cart;
  };
  const show = (ctx: RouteContext) => {
    const html = page(ctx, carts.get(header(ctx, 'x-junction-principal') ?? '') ?? []);
    ctx.res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
    });
    ctx.res.end(html);
  };
  const server = http.createServer(
    router([
      { method: 'GET', path: '/shop', handle: show },
      { method: 'GET', path: '/shop/', handle: show },
      {
        method: 'POST',
        path: '/shop/cart',
        handle: async (ctx) => {
          const cart = cartOf(ctx);
          const { productId } = ((await readJson(ctx.req)) ?? {}) as { productId?: unknown };
          if (typeof productId !== 'string' || !/^prd_[a-z0-9_]{1,40}$/.test(productId)) {
            throw new HttpError(400, 'invalid_product', 'productId must look like prd_mug');
          }
          if (cart.length >= 100) throw new HttpError(409, 'cart_full', 'a demo cart holds 100 items');
          cart.push(productId);
          sendJson(ctx.res, 200, { cart });
        },
      },
    ]),
  );
  return listen(server, options);
}
