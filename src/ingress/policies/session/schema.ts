/** `auth.session` configuration: one TypeBox schema, defaults included (STYLE.md §4). */
import Type, { type Static } from 'typebox';

/** 32 bytes in standard or URL-safe base64, padded or not. */
const KEY = '^[A-Za-z0-9+/_-]{43}=?$';
const PATH = '^/[^?#]*$';
const HEADER = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const COOKIE = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const RedisSchema = Type.Object(
  {
    redis: Type.Object(
      {
        url: Type.Optional(
          Type.String({ pattern: '^rediss?://', description: 'Defaults to redis.url / JUNCTION_REDIS_URL' }),
        ),
        keyPrefix: Type.String({ default: 'junction:session:', description: 'Prefix of every key' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const sessionSchema = Type.Object(
  {
    issuer: Type.String({
      pattern: '^https?://',
      description:
        'OpenID Provider issuer or its discovery URL (…/.well-known/openid-configuration); http only on loopback',
    }),
    clientId: Type.String({ minLength: 1 }),
    clientSecret: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Confidential client (client_secret_basic); omit for a public client with PKCE only',
      }),
    ),
    baseUrl: Type.Optional(
      Type.String({
        pattern: '^https?://[^/?#]+$',
        description:
          'Public origin of the gateway (https://app.example.com); defaults to the request scheme and Host',
      }),
    ),
    redirectPath: Type.String({ pattern: PATH, default: '/auth/callback' }),
    loginPath: Type.String({ pattern: PATH, default: '/auth/login' }),
    logoutPath: Type.String({ pattern: PATH, default: '/auth/logout' }),
    scopes: Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' }), {
      default: ['openid', 'profile', 'email', 'offline_access'],
      description: 'Requested scopes; openid is required, offline_access asks for a refresh token',
    }),
    authorizationParams: Type.Record(Type.String({ pattern: '^[a-z_]+$' }), Type.String(), {
      default: {},
      description: 'Extra authorization request parameters, e.g. { prompt: consent } or { audience: … }',
    }),
    cookie: Type.Object(
      {
        name: Type.String({ pattern: COOKIE, default: '__Host-jx_session' }),
        loginName: Type.String({
          pattern: COOKIE,
          default: '__Host-jx_login',
          description: 'Binds a pending login to the browser that started it',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    idleTimeoutS: Type.Integer({
      minimum: 60,
      default: 1800,
      description: 'Ends a session unused this long',
    }),
    absoluteTimeoutS: Type.Integer({
      minimum: 60,
      default: 28_800,
      description: 'Ends a session this long after login, however active',
    }),
    loginTimeoutS: Type.Integer({
      minimum: 30,
      maximum: 3600,
      default: 600,
      description: 'How long a started login waits for its callback',
    }),
    store: Type.Union([Type.Literal('store'), RedisSchema], {
      default: 'store',
      description: "'store' (the gateway's SQL store) or { redis: { url, keyPrefix } }",
    }),
    encryptionKey: Type.String({
      pattern: KEY,
      description: 'AES-256-GCM key for tokens at rest, 32 bytes base64, from an environment variable',
    }),
    keyVersion: Type.Integer({ minimum: 1, maximum: 65_535, default: 1 }),
    previousKeys: Type.Array(
      Type.Object(
        { version: Type.Integer({ minimum: 1, maximum: 65_535 }), key: Type.String({ pattern: KEY }) },
        { additionalProperties: false },
      ),
      { default: [], description: 'Retired keys still accepted for reading (rotation)' },
    ),
    refreshBeforeExpiryS: Type.Integer({
      minimum: 0,
      default: 60,
      description: 'Refresh the access token when it expires within this many seconds',
    }),
    providerTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
    fetchUserInfo: Type.Boolean({
      default: true,
      description: 'Merge userinfo claims into the session at login',
    }),
    endSessionRedirect: Type.Boolean({
      default: false,
      description: "Logout continues at the provider's end_session_endpoint (RP-initiated logout)",
    }),
    postLogoutPath: Type.String({ pattern: PATH, default: '/' }),
    rolesClaim: Type.String({ default: 'roles', description: 'Claim holding the principal roles' }),
    tenantClaim: Type.Optional(Type.String()),
    forward: Type.Object(
      {
        accessToken: Type.Boolean({ default: true, description: 'Authorization: Bearer to the upstream' }),
        claims: Type.Record(Type.String(), Type.String({ pattern: HEADER }), {
          default: { sub: 'x-junction-principal', email: 'x-junction-email' },
          description: 'Claim name → upstream header',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type SessionConfig = Static<typeof sessionSchema>;
