/**
 * A gateway with `auth.session` on a `/*` route in front of an echo upstream, signed in against a
 * real OpenID Provider (./oidc.ts); the session store is the gateway's SQL store unless the test
 * names Redis. Audit entries are captured. Everything is closed by `t.after`.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { AuditEntry } from '../../src/core/audit.ts';
import { closeSessionStores, provideSessionStore, Sealer } from '../../src/ingress/policies/session/index.ts';
import { Browser } from './browser.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';
import {
  type OidcOptions,
  startOidcProvider,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  type TestOidcProvider,
} from './oidc.ts';
import { startUpstream, type TestUpstream } from './upstream.ts';

export const SESSION_KEY = randomBytes(32).toString('base64');

export interface SessionSetup {
  op: TestOidcProvider;
  up: TestUpstream;
  gw: TestGateway;
  /** Opens what the gateway sealed (same key). */
  sealer: Sealer;
  audit: AuditEntry[];
  /** Goes to the login and through the provider; returns the callback URL, not yet visited. */
  startLogin(b: Browser, path?: string): Promise<string>;
  /** The whole sign-in; returns the callback's answer (a 302 to the return path). */
  signIn(b: Browser, path?: string): Promise<Response>;
}

export interface SessionOptions {
  oidc?: OidcOptions;
  /** Merged into the `auth.session` config. */
  session?: Record<string, unknown>;
  /** Policies listed on the route before `auth.session`. */
  before?: Record<string, unknown>;
  /** Policies listed after it. */
  after?: Record<string, unknown>;
  publicClient?: boolean;
}

/** The test gateway's config: one `/*` route with `auth.session` in front of `upstream`. */
export function gatewayConfig(
  issuer: string,
  upstream: string,
  options: SessionOptions = {},
): Record<string, unknown> {
  return {
    upstreams: { app: { targets: [upstream] } },
    routes: [
      {
        name: 'web',
        match: { path: '/*' },
        proxy: { upstream: 'app' },
        policies: {
          ...options.before,
          'auth.session': {
            issuer,
            clientId: TEST_CLIENT_ID,
            ...(options.publicClient ? {} : { clientSecret: TEST_CLIENT_SECRET }),
            encryptionKey: SESSION_KEY,
            // oidc-provider grants offline_access (a refresh token) only with prompt=consent.
            authorizationParams: { prompt: 'consent' },
            forward: {
              claims: { sub: 'x-junction-principal', email: 'x-junction-email', name: 'x-junction-name' },
            },
            ...options.session,
          },
          ...options.after,
        },
      },
    ],
  };
}

export async function sessionGateway(t: TestContext, options: SessionOptions = {}): Promise<SessionSetup> {
  const op = await startOidcProvider(t, options.oidc);
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, gatewayConfig(op.issuer, up.url, options));
  const { services, store } = gw.gateway;
  provideSessionStore(services, store.sessions);
  t.after(() => closeSessionStores(services));
  const audit: AuditEntry[] = [];
  services.audit = { record: (e) => void audit.push(e), flush: async () => {} };
  await op.register({
    redirectUris: [gw.url('/auth/callback')],
    postLogoutRedirectUris: [gw.url('/')],
    ...(options.publicClient ? {} : { clientSecret: TEST_CLIENT_SECRET }),
  });
  const callbackPrefix = gw.url('/auth/callback?');
  const startLogin = async (b: Browser, path = '/auth/login?return=%2Forders%3Fpage%3D2') => {
    const res = await b.fetch(gw.url(path), { headers: { accept: 'text/html' } });
    if (res.status !== 302) throw new Error(`login answered ${res.status}: ${await res.text()}`);
    return b.followUntil(res.headers.get('location')!, (u) => u.startsWith(callbackPrefix));
  };
  return {
    op,
    up,
    gw,
    sealer: new Sealer(1, Buffer.from(SESSION_KEY, 'base64'), new Map()),
    audit,
    startLogin,
    signIn: async (b, path) => b.fetch(await startLogin(b, path)),
  };
}

/** `accept: application/json` unless told otherwise: an API call, answered 401 without a session. */
export function api(
  b: Browser,
  setup: SessionSetup,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('accept')) headers.set('accept', 'application/json');
  return b.fetch(setup.gw.url(path), { ...init, headers });
}

export { Browser };
