/** The config of `auth.mtls`: TypeBox schema first (STYLE.md §4); defaults live here. */
import Type, { type Static } from 'typebox';
import { SPIFFE_PATTERN } from './names.ts';

const Name = Type.String({ minLength: 1, maxLength: 2048 });

export const mtlsSchema = Type.Object(
  {
    allow: Type.Object(
      {
        spiffe: Type.Optional(
          Type.Array(Type.String({ pattern: SPIFFE_PATTERN, maxLength: 2048 }), {
            minItems: 1,
            description: 'SPIFFE ids: exact, or spiffe://td/path/* for every id under a path',
          }),
        ),
        sans: Type.Optional(
          Type.Array(Name, {
            minItems: 1,
            description: 'SAN DNS names (*.example for one label below), URIs (…/* prefix), IPs or emails',
          }),
        ),
        subjects: Type.Optional(
          Type.Array(Name, { minItems: 1, description: 'Subject common names (CN), exact' }),
        ),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'A certificate matching any entry is allowed (403 client_cert_forbidden otherwise); with no list, every certificate the listener trusts is',
      },
    ),
    forward: Type.Object(
      {
        header: Type.String({
          // Junction's own namespace: the core drops clients' copies (src/ingress/forwarding.ts).
          pattern: '^x-junction-[a-z0-9-]+$',
          default: 'x-junction-client-cert-id',
          description: 'Header carrying the verified identity (SPIFFE id, else first SAN, else CN) upstream',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    roles: Type.Record(Name, Type.Array(Type.String({ minLength: 1 })), {
      default: {},
      description:
        'Certificate name pattern (as in allow) → roles of the principal, e.g. spiffe://acme/ns/billing/*: [billing]',
    }),
  },
  { additionalProperties: false },
);

export type MtlsConfig = Static<typeof mtlsSchema>;
