/**
 * A real OpenID Provider for tests: `oidc-provider` on 127.0.0.1 port 0, in memory, PKCE (S256)
 * required, and an interaction that signs the configured test user in and grants every requested
 * scope without rendering a form, so a `fetch` loop with a cookie jar can drive the whole
 * authorization code flow (RFC 6749 §4.1, RFC 7636).
 *
 * The listener starts first, so the issuer URL is known before the gateway's config is written;
 * `register()` then builds the provider with the gateway's redirect URI (known once it listens).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';

/** oidc-provider ships no type declarations: the subset used here, typed by hand. */
interface Interaction {
  prompt: { name: string; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[] } };
  params: { client_id: string };
  session?: { accountId: string };
  grantId?: string;
}
interface GrantInstance {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission: boolean },
  ): Promise<void>;
  on(event: string, fn: (ctx: { oidc: { params?: Record<string, unknown> } }, err?: Error) => void): void;
  Grant: {
    new (init: { accountId: string; clientId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  };
}
type ProviderClass = new (issuer: string, config: Record<string, unknown>) => ProviderInstance;

export interface ClientRegistration {
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  clientId?: string;
  /** Omit for a public client (token endpoint auth `none`; PKCE is then the only proof). */
  clientSecret?: string;
}

export interface OidcOptions {
  /** Access token lifetime; short values exercise the gateway's refresh. Default 300. */
  accessTokenTtlS?: number;
  refreshTokenTtlS?: number;
}

export interface TestOidcProvider {
  issuer: string;
  /** Builds the provider with the gateway's client; requests before this answer 503. */
  register(client: ClientRegistration): Promise<void>;
  /** Who the automatic login signs in as. */
  user: string;
  /** When true, the next interactions end with `error=access_denied`. */
  deny: boolean;
  /** `grant_type` of every successful token request, in order. */
  grants: string[];
  /** What the provider stores, by model (`RefreshToken`, `AccessToken`, …) and id. */
  stored(model: string): Map<string, Record<string, unknown>>;
}

export const TEST_CLIENT_ID = 'junction-bff';
export const TEST_CLIENT_SECRET = 'test-client-secret-0123456789abcdef';

const USERS: Record<string, { email: string; name: string; roles: string[] }> = {
  alice: { email: 'alice@example.test', name: 'Alice <script>alert(1)</script>', roles: ['customer'] },
  bob: { email: 'bob@example.test', name: 'Bob', roles: ['admin'] },
};

export async function startOidcProvider(
  t: TestContext,
  options: OidcOptions = {},
): Promise<TestOidcProvider> {
  const storage = new Map<string, Map<string, Record<string, unknown>>>();
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler === undefined) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const op: TestOidcProvider = {
    issuer,
    user: 'alice',
    deny: false,
    grants: [],
    stored: (model) => storage.get(model) ?? new Map(),
    async register(client) {
      const { default: Provider } = (await import('oidc-provider' as string)) as { default: ProviderClass };
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const provider = new Provider(issuer, {
        adapter: memoryAdapter(storage),
        jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test', alg: 'RS256', use: 'sig' }] },
        clients: [
          {
            client_id: client.clientId ?? TEST_CLIENT_ID,
            ...(client.clientSecret === undefined
              ? { token_endpoint_auth_method: 'none' }
              : { client_secret: client.clientSecret }),
            redirect_uris: client.redirectUris,
            post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
          },
        ],
        // RFC 9700 §2.1.1: PKCE for every client, S256 only (oidc-provider's default method list).
        pkce: { required: () => true },
        features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
        interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
        scopes: ['openid', 'offline_access', 'profile', 'email'],
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'roles'] },
        findAccount: async (_ctx: unknown, id: string) => ({
          accountId: id,
          claims: async () => ({ sub: id, email_verified: true, ...USERS[id] }),
        }),
        ttl: {
          AccessToken: options.accessTokenTtlS ?? 300,
          RefreshToken: options.refreshTokenTtlS ?? 3600,
          AuthorizationCode: 60,
          Interaction: 300,
          Session: 3600,
          Grant: 3600,
          IdToken: 300,
        },
        cookies: { keys: ['test-cookie-key-0123456789'] },
      });
      provider.on('grant.success', (ctx) => op.grants.push(String(ctx.oidc.params?.grant_type)));
      const callback = provider.callback();
      handler = (req, res) => {
        if (req.url?.startsWith('/interaction/')) {
          interact(provider, op, req, res).catch((err: unknown) => {
            res.writeHead(500).end(String(err));
          });
          return;
        }
        callback(req, res);
      };
    },
  };
  return op;
}

/** The login and consent prompts, answered at once for `op.user` (or refused when `op.deny`). */
async function interact(
  provider: ProviderInstance,
  op: TestOidcProvider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  let result: Record<string, unknown>;
  if (op.deny) {
    result = { error: 'access_denied', error_description: 'the test user said no' };
  } else if (details.prompt.name === 'login') {
    result = { login: { accountId: op.user } };
  } else {
    const grant =
      (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ??
      new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id });
    const { missingOIDCScope, missingOIDCClaims } = details.prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

type Payload = Record<string, unknown> & { grantId?: string; uid?: string; userCode?: string };

/** oidc-provider's adapter contract over plain Maps, so tests can read what the provider stores. */
function memoryAdapter(storage: Map<string, Map<string, Record<string, unknown>>>) {
  const table = (name: string) => {
    let m = storage.get(name);
    if (m === undefined) {
      m = new Map();
      storage.set(name, m);
    }
    return m;
  };
  return class {
    readonly #m: Map<string, Payload>;
    constructor(name: string) {
      this.#m = table(name) as Map<string, Payload>;
    }
    async upsert(id: string, payload: Payload) {
      this.#m.set(id, payload);
    }
    async find(id: string) {
      return this.#m.get(id);
    }
    async findByUid(uid: string) {
      return [...this.#m.values()].find((p) => p.uid === uid);
    }
    async findByUserCode(code: string) {
      return [...this.#m.values()].find((p) => p.userCode === code);
    }
    async consume(id: string) {
      const p = this.#m.get(id);
      if (p) p.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      this.#m.delete(id);
    }
    async revokeByGrantId(grantId: string) {
      for (const m of storage.values()) for (const [id, p] of m) if (p.grantId === grantId) m.delete(id);
    }
  };
}
