/**
 * The `verify:` block of a webhook source: TypeBox schema first (STYLE.md §4), one object per
 * provider, told apart by `provider`. Secrets are plain strings so they can be `${ENV}` references
 * (the loader interpolates every string); an entry that comes out empty is skipped (secrets.ts).
 */
import Type, { type Static } from 'typebox';

const HeaderName = Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", maxLength: 256 });

const Secrets = (description: string, pattern?: string) =>
  Type.Array(Type.String({ maxLength: 1024, ...(pattern === undefined ? {} : { pattern }) }), {
    minItems: 1,
    maxItems: 10,
    description: `${description}. Several during a rotation: any one matching passes; an empty entry (an unset \${VAR:-}) is skipped`,
  });

const ToleranceS = (description: string) =>
  Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 300,
    description: `${description}; refused when further than this from the gateway's clock, past or future`,
  });

export const stripeVerifySchema = Type.Object(
  {
    provider: Type.Literal('stripe'),
    secrets: Secrets('Endpoint signing secrets (whsec_…)', '^(whsec_\\S+)?$'),
    toleranceS: ToleranceS('Age of the t= timestamp in Stripe-Signature'),
  },
  { additionalProperties: false },
);

export const githubVerifySchema = Type.Object(
  {
    provider: Type.Literal('github'),
    secrets: Secrets('Webhook secrets'),
  },
  { additionalProperties: false },
);

export const shopifyVerifySchema = Type.Object(
  {
    provider: Type.Literal('shopify'),
    secrets: Secrets("The app's client secrets"),
  },
  { additionalProperties: false },
);

export const slackVerifySchema = Type.Object(
  {
    provider: Type.Literal('slack'),
    secrets: Secrets("The app's signing secrets"),
    toleranceS: ToleranceS('Age of X-Slack-Request-Timestamp'),
  },
  { additionalProperties: false },
);

export const standardWebhooksVerifySchema = Type.Object(
  {
    provider: Type.Literal('standard-webhooks'),
    secrets: Secrets(
      'Symmetric secrets (whsec_<base64>, v1 signatures) and Ed25519 public keys (whpk_<base64>, v1a)',
      '^((whsec|whpk|whsk)_[A-Za-z0-9+/=]+)?$',
    ),
    toleranceS: ToleranceS('Age of webhook-timestamp'),
  },
  { additionalProperties: false },
);

export const hmacVerifySchema = Type.Object(
  {
    provider: Type.Literal('hmac'),
    secrets: Secrets('Shared secrets'),
    secretEncoding: Type.Union([Type.Literal('utf8'), Type.Literal('hex'), Type.Literal('base64')], {
      default: 'utf8',
      description: 'How a secret string becomes the HMAC key: as is (utf8) or decoded',
    }),
    header: Type.String({ ...HeaderName, description: 'Header carrying the signature' }),
    algorithm: Type.Union([Type.Literal('sha1'), Type.Literal('sha256'), Type.Literal('sha512')], {
      default: 'sha256',
      description: 'HMAC hash; sha1 only for senders that offer nothing better',
    }),
    encoding: Type.Union([Type.Literal('hex'), Type.Literal('base64'), Type.Literal('base64url')], {
      default: 'hex',
    }),
    prefix: Type.String({
      maxLength: 32,
      default: '',
      description: 'Text before the signature, e.g. `sha256=`; required when set',
    }),
    separator: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4,
        description:
          'Splits a header carrying several signatures (e.g. `,` or a space); any one matching passes',
      }),
    ),
    signedContent: Type.String({
      pattern: '^([^{}]|\\{(body|timestamp|id)\\})*$',
      maxLength: 256,
      default: '{body}',
      description:
        'What is signed: {body} (the raw bytes, exactly once), {timestamp} and {id} (header values) and literal text, e.g. `{timestamp}.{body}`',
    }),
    timestampHeader: Type.Optional(
      Type.String({ ...HeaderName, description: 'Header with the signed Unix-seconds timestamp' }),
    ),
    toleranceS: ToleranceS('Age of the timestampHeader value'),
    idHeader: Type.Optional(
      Type.String({ ...HeaderName, description: 'Header with the delivery id, for deduplication' }),
    ),
    typeHeader: Type.Optional(Type.String({ ...HeaderName, description: 'Header with the event type' })),
  },
  { additionalProperties: false },
);

export const verifySchema = Type.Union(
  [
    stripeVerifySchema,
    githubVerifySchema,
    shopifyVerifySchema,
    slackVerifySchema,
    standardWebhooksVerifySchema,
    hmacVerifySchema,
  ],
  { description: 'How a webhook source checks that a delivery comes from its provider' },
);

export type StripeVerifyConfig = Static<typeof stripeVerifySchema>;
export type GithubVerifyConfig = Static<typeof githubVerifySchema>;
export type ShopifyVerifyConfig = Static<typeof shopifyVerifySchema>;
export type SlackVerifyConfig = Static<typeof slackVerifySchema>;
export type StandardWebhooksVerifyConfig = Static<typeof standardWebhooksVerifySchema>;
export type HmacVerifyConfig = Static<typeof hmacVerifySchema>;
export type VerifyConfig = Static<typeof verifySchema>;
