/** `security.headers` configuration: one TypeBox schema, defaults included (STYLE.md §4). */
import Type, { type Static } from 'typebox';

const DIRECTIVE = '^[a-z][a-z-]*$';

export const securityHeadersSchema = Type.Object(
  {
    override: Type.Boolean({
      default: false,
      description: 'Replace headers the upstream set itself; by default the upstream’s own values win',
    }),
    contentSecurityPolicy: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        directives: Type.Record(
          Type.String({ pattern: DIRECTIVE }),
          Type.Array(Type.String({ pattern: '^[^;,\\s]+$' })),
          {
            default: {
              'default-src': ["'self'"],
              'base-uri': ["'self'"],
              'object-src': ["'none'"],
              'frame-ancestors': ["'none'"],
              'form-action': ["'self'"],
            },
            description: 'Directive → sources; e.g. { script-src: ["\'self\'", "https://cdn.example"] }',
          },
        ),
        nonce: Type.Boolean({
          default: false,
          description:
            "A fresh 'nonce-…' in script-src per response, passed to the upstream as x-junction-csp-nonce",
        }),
        reportOnly: Type.Boolean({ default: false, description: 'Send Content-Security-Policy-Report-Only' }),
      },
      { additionalProperties: false, default: {} },
    ),
    hsts: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        maxAgeS: Type.Integer({ minimum: 0, default: 31_536_000 }),
        includeSubDomains: Type.Boolean({ default: true }),
        preload: Type.Boolean({ default: false }),
        behindTls: Type.Boolean({
          default: false,
          description: 'Send it on http too: TLS is terminated before the gateway (RFC 6797 §7.2 otherwise)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    contentTypeOptions: Type.Boolean({ default: true, description: 'X-Content-Type-Options: nosniff' }),
    referrerPolicy: Type.Union([Type.String({ pattern: '^[a-z-]+(, *[a-z-]+)*$' }), Type.Literal(false)], {
      default: 'no-referrer',
    }),
    frameOptions: Type.Union([Type.Literal('DENY'), Type.Literal('SAMEORIGIN'), Type.Literal(false)], {
      default: 'DENY',
      description: 'X-Frame-Options, for browsers without CSP frame-ancestors',
    }),
    crossOriginOpenerPolicy: Type.Union(
      [
        Type.Literal('same-origin'),
        Type.Literal('same-origin-allow-popups'),
        Type.Literal('unsafe-none'),
        Type.Literal('noopener-allow-popups'),
        Type.Literal(false),
      ],
      { default: 'same-origin' },
    ),
  },
  { additionalProperties: false },
);

export type SecurityHeadersConfig = Static<typeof securityHeadersSchema>;
