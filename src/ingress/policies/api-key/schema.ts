/** The config of `auth.api-key`: TypeBox schema first (STYLE.md §4); defaults live here. */
import Type, { type Static } from 'typebox';

const HeaderName = Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", maxLength: 256 });
/**
 * Forwarded identity headers must live in `x-junction-*`: the core drops clients' own copies of
 * those (src/ingress/forwarding.ts), so an upstream can trust them. Any other name could be spoofed.
 */
const TrustedHeader = (name: string, what: string) =>
  Type.String({
    pattern: '^x-junction-[a-z0-9-]+$',
    default: `x-junction-${name}`,
    description: `Header carrying ${what} to the upstream (an x-junction-* name)`,
  });

/** RFC 6749 §3.3 scope-token. */
const Scope = Type.String({ pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$', maxLength: 256 });

export const apiKeySchema = Type.Object(
  {
    header: Type.String({
      ...HeaderName,
      default: 'x-api-key',
      description: 'Header carrying the key (lowercase)',
    }),
    bearer: Type.Boolean({
      default: true,
      description:
        'Also accept `Authorization: Bearer jk_…` (RFC 6750 §2.1); other bearer tokens are left alone',
    }),
    required: Type.Boolean({
      default: true,
      description: 'false lets requests without a key through (a presented bad key is still refused)',
    }),
    scopes: Type.Array(Scope, {
      default: [],
      maxItems: 64,
      description: 'Scopes the key must all have; 403 api_key_scope otherwise',
    }),
    cacheTtlMs: Type.Integer({
      minimum: 0,
      maximum: 300_000,
      default: 5_000,
      description:
        'How long a looked-up key is reused before the store is asked again; a revocation takes effect within it (0: every request)',
    }),
    realm: Type.String({
      pattern: '^[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*$',
      maxLength: 128,
      default: 'junction',
      description: 'realm of the WWW-Authenticate challenge',
    }),
    forwardHeaders: Type.Object(
      {
        id: TrustedHeader('principal', 'the key id (jk_…)'),
        roles: TrustedHeader('roles', 'the key’s roles, comma-separated'),
        tenant: TrustedHeader('tenant', 'the key’s tenant (absent when it has none)'),
        scopes: TrustedHeader('scopes', 'the key’s scopes, space-separated'),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type ApiKeyConfig = Static<typeof apiKeySchema>;
