/** `auth.csrf` configuration: one TypeBox schema, defaults included (STYLE.md §4). */
import Type, { type Static } from 'typebox';

const KEY = '^[A-Za-z0-9+/_-]{43}=?$';
const NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

export const csrfSchema = Type.Object(
  {
    secret: Type.String({
      pattern: KEY,
      description:
        'HMAC-SHA256 key of the signed double-submit token, 32 bytes base64, from an environment variable',
    }),
    cookieName: Type.String({ pattern: NAME, default: '__Host-jx_csrf' }),
    headerName: Type.String({ pattern: NAME, default: 'x-csrf-token' }),
    sessionCookie: Type.String({
      pattern: NAME,
      default: '__Host-jx_session',
      description: 'The session cookie the token is bound to (auth.session cookie.name)',
    }),
    allowedOrigins: Type.Array(Type.String({ pattern: '^https?://[^/?#]+$' }), {
      default: [],
      description:
        'Origins besides the gateway’s own that may send unsafe requests (e.g. the public https origin)',
    }),
    tokenPath: Type.Optional(
      Type.String({
        pattern: '^/[^?#]*$',
        description: 'GET here answers { token } and sets the cookie (for single-page apps)',
      }),
    ),
  },
  { additionalProperties: false },
);

export type CsrfConfig = Static<typeof csrfSchema>;
