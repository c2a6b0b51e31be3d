/**
 * The config of `auth.jwt`: TypeBox schema first (STYLE.md §4); defaults live here. What the schema
 * cannot say (exactly one of `jwks` and `keys`, key material that parses, an HS secret only with an
 * HS algorithm) is checked once when the route compiles (keys.ts).
 */
import Type, { type Static } from 'typebox';

/**
 * RFC 8725 §3.1: verifiers take an allowlist of algorithms. `none` is not in the list at all, so no
 * config can name it (RFC 7519 §6 unsecured JWTs are never accepted).
 */
const L = Type.Literal;
const AsymmetricAlg = Type.Union(
  [
    L('RS256'),
    L('RS384'),
    L('RS512'),
    L('PS256'),
    L('PS384'),
    L('PS512'),
    L('ES256'),
    L('ES384'),
    L('ES512'),
    L('EdDSA'),
    L('Ed25519'),
  ],
  { description: 'Signature algorithm (RFC 7518 §3.1, RFC 8037)' },
);
const HmacAlg = Type.Union([L('HS256'), L('HS384'), L('HS512')], {
  description: 'HMAC algorithm; only with a `secret`',
});

/** RFC 9110 §5.6.2 token: what a header field name may be. */
const HeaderName = Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" });
/** A claim name, or a dotted path into nested claims (`realm_access.roles`). */
const ClaimPath = Type.String({ minLength: 1, maxLength: 256 });
const Ms = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description });

const PublicKey = Type.Object(
  {
    kid: Type.Optional(Type.String({ minLength: 1, description: 'Matched against the token header `kid`' })),
    alg: AsymmetricAlg,
    pem: Type.Optional(Type.String({ description: 'SPKI public key (or certificate) in PEM' })),
    jwk: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: 'Public JWK (RFC 7517); never `kty: oct`' }),
    ),
  },
  { additionalProperties: false },
);
const SecretKey = Type.Object(
  {
    kid: Type.Optional(Type.String({ minLength: 1, description: 'Matched against the token header `kid`' })),
    alg: HmacAlg,
    secret: Type.String({
      minLength: 32,
      description:
        'Shared secret (UTF-8), at least as long as the hash (RFC 7518 §3.2); from an environment variable',
    }),
  },
  { additionalProperties: false },
);

export const jwtSchema = Type.Object(
  {
    jwks: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://', description: 'JWKS endpoint (RFC 7517 §5)' }),
          cacheMaxAgeMs: Ms(600_000, 1_000, 86_400_000, 'Keys are refetched when older than this'),
          cooldownMs: Ms(
            30_000,
            0,
            3_600_000,
            'At most one refetch per this long, however many unknown `kid`s arrive',
          ),
          timeoutMs: Ms(5_000, 100, 60_000, 'Gives up on a JWKS fetch after this long'),
        },
        { additionalProperties: false, description: 'Fetch verification keys from a JWKS URL' },
      ),
    ),
    keys: Type.Optional(
      Type.Array(Type.Union([PublicKey, SecretKey]), {
        minItems: 1,
        description: 'Static verification keys: `pem` or `jwk` with an asymmetric alg, or `secret` with HS*',
      }),
    ),
    algorithms: Type.Array(Type.Union([AsymmetricAlg, HmacAlg]), {
      minItems: 1,
      uniqueItems: true,
      description: 'Accepted `alg` values (RFC 8725 §3.1); required, `none` impossible',
    }),
    issuer: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })], {
        description: 'Required `iss` (RFC 8725 §3.8)',
      }),
    ),
    audience: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })], {
        description: 'Required `aud`, one of these (RFC 8725 §3.9)',
      }),
    ),
    typ: Type.Optional(
      Type.String({ description: 'Required `typ` header, e.g. `at+jwt` (RFC 8725 §3.11, RFC 9068)' }),
    ),
    clockToleranceS: Type.Integer({
      minimum: 0,
      maximum: 300,
      default: 30,
      description: 'Leeway for `exp`, `nbf` and `iat` (RFC 7519 §4.1.4)',
    }),
    requiredClaims: Type.Array(ClaimPath, {
      default: [],
      description: 'Claims the token must carry besides `sub`',
    }),
    token: Type.Union(
      [
        Type.Object(
          { header: HeaderName },
          {
            additionalProperties: false,
            description: 'Header; `authorization` takes `Bearer <token>` (RFC 6750 §2.1)',
          },
        ),
        Type.Object(
          { cookie: Type.String({ minLength: 1 }) },
          { additionalProperties: false, description: 'Cookie name' },
        ),
      ],
      { default: { header: 'authorization' }, description: 'Where the token is' },
    ),
    rolesClaim: Type.String({
      minLength: 1,
      default: 'roles',
      description: 'Claim (or dotted path) with the roles: an array or a space-separated string',
    }),
    scopesClaim: Type.String({
      minLength: 1,
      default: 'scope',
      description: '`scope` (space-separated, RFC 8693 §4.2) or `scp` (array)',
    }),
    tenantClaim: Type.String({ minLength: 1, default: 'tenant', description: 'Claim with the tenant' }),
    forward: Type.Object(
      {
        claims: Type.Record(ClaimPath, HeaderName, {
          default: {},
          description:
            'Claim (or dotted path) → upstream header, e.g. `sub: x-junction-principal`; a client copy never passes',
        }),
        stripToken: Type.Boolean({ default: false, description: 'Do not send the token upstream' }),
      },
      { additionalProperties: false, default: {} },
    ),
    cache: Type.Object(
      {
        maxEntries: Type.Integer({
          minimum: 0,
          maximum: 1_000_000,
          default: 1024,
          description: 'Verified tokens kept (Envoy jwt_cache_config); 0 turns the cache off',
        }),
        maxAgeMs: Ms(60_000, 0, 3_600_000, 'A verified token is re-verified after this long'),
      },
      { additionalProperties: false, default: {} },
    ),
    realm: Type.Optional(Type.String({ pattern: '^[^"\\\\]*$', description: 'RFC 6750 §3 `realm`' })),
  },
  { additionalProperties: false },
);

export type JwtConfig = Static<typeof jwtSchema>;
export type StaticKeyConfig = NonNullable<JwtConfig['keys']>[number];
