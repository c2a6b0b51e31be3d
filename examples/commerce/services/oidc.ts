/**
 * The demo's OpenID Provider (`oidc-provider`), for signing in to the shop through the gateway's
 * `auth.session` (docs/auth.md). One client, `junction-demo`, whose redirect URI is the gateway's
 * callback; one user, `demo` / `demo`. PKCE is required (S256), refresh tokens are issued for
 * `offline_access`, access tokens live two minutes so the gateway's refresh shows up quickly.
 * Everything is in memory: a restart signs everyone out.
 *
 * The sign-in page is the only HTML here; every value it shows is escaped.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';

export interface OidcStartOptions {
  port: number;
  host?: string;
  /** Where the gateway is, as the browser sees it; default http://localhost:8080. */
  gatewayUrl?: string;
}

export interface RunningProvider {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

export const DEMO_CLIENT_ID = 'junction-demo';
export const DEMO_CLIENT_SECRET = 'junction-demo-oidc-secret';
const USERS: Record<string, { password: string; claims: Record<string, unknown> }> = {
  demo: {
    password: 'demo',
    claims: { name: 'Dee Mo', email: 'demo@commerce.example', email_verified: true, roles: ['customer'] },
  },
};

/** oidc-provider ships no type declarations: the few members used here. */
interface Details {
  prompt: { name: string; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[] } };
  params: { client_id: string };
  session?: { accountId: string };
  grantId?: string;
}
interface Grant {
  addOIDCScope(s: string): void;
  addOIDCClaims(c: string[]): void;
  save(): Promise<string>;
}
interface Provider {
  callback(): http.RequestListener;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<Details>;
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: object): Promise<void>;
  Grant: {
    new (i: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(uid: string, error?: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Commerce demo sign-in</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>User <input name="login" value="demo" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button>Sign in</button></form><p>Demo user: demo / demo</p></body></html>`;
}

async function form(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4096) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

/** Login prompt: the form, then the credentials; consent prompt: granted at once (it is the demo). */
async function interact(
  provider: Provider,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const uid = req.url!.split('/')[2]!;
  if (details.prompt.name === 'login') {
    if (req.method !== 'POST') {
      const html = page(uid);
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
        'cache-control': 'no-store',
      });
      res.end(html);
      return;
    }
    const f = await form(req);
    const login = f.get('login') ?? '';
    if (USERS[login]?.password !== f.get('password')) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page(uid, `Unknown user or wrong password for "${login}"`));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } });
    return;
  }
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id });
  const { missingOIDCScope, missingOIDCClaims } = details.prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } });
}

/**
 * @example
 * const op = await start({ port: 0, gatewayUrl: 'http://localhost:8080' });
 * // auth.session: { issuer: op.url, clientId: 'junction-demo', clientSecret: 'junction-demo-oidc-secret', … }
 * await op.close();
 */
export async function start(options: OidcStartOptions): Promise<RunningProvider> {
  const gateway = options.gatewayUrl ?? 'http://localhost:8080';
  let handle: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  // `localhost`, not 127.0.0.1: browsers treat http://localhost as a secure context, which the
  // gateway's `__Host-` cookies need without TLS.
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  const { default: ProviderClass } = (await import('oidc-provider' as string)) as {
    default: new (issuer: string, config: object) => Provider;
  };
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new ProviderClass(url, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'demo', alg: 'RS256', use: 'sig' }] },
    clients: [
      {
        client_id: DEMO_CLIENT_ID,
        client_secret: DEMO_CLIENT_SECRET,
        redirect_uris: [`${gateway}/auth/callback`],
        post_logout_redirect_uris: [`${gateway}/`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      revocation: { enabled: true },
    },
    interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'roles'] },
    findAccount: async (_ctx: unknown, id: string) =>
      USERS[id] && { accountId: id, claims: async () => ({ sub: id, ...USERS[id]!.claims }) },
    ttl: {
      AccessToken: 120,
      RefreshToken: 86_400,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
      IdToken: 3600,
    },
    cookies: { keys: ['junction-demo-oidc-cookie-key'] },
  });
  const callback = provider.callback();
  handle = (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    interact(provider, req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`sign-in failed: ${err instanceof Error ? err.message : 'error'}`);
    });
  };
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.main) {
  const op = await start({
    port: Number(process.env.DEMO_OIDC_PORT || 9107),
    gatewayUrl: process.env.DEMO_GATEWAY_URL,
  });
  process.stdout.write(`demo OpenID Provider at ${op.url} (user demo / demo)\n`);
}
