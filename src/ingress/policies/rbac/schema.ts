/** The config of `auth.rbac`: TypeBox schema first (STYLE.md §4); defaults live here. */
import Type, { type Static } from 'typebox';

/** Up to 64 characters; in the pattern because a record key's other keywords are not checked. */
export const ROLE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$';
/** A method token (RFC 9110 §9.1: case-sensitive, conventionally uppercase) or `*` for any. */
const Method = Type.String({ pattern: '^([A-Z][A-Z-]*|\\*)$', maxLength: 32 });

export const rbacSchema = Type.Object(
  {
    allow: Type.Record(
      Type.String({ pattern: ROLE_PATTERN }),
      Type.Array(Method, { minItems: 1, maxItems: 32 }),
      {
        minProperties: 1,
        // Not `false`: TypeBox's Value.Default walks this keyword as a schema.
        additionalProperties: Type.Never(),
        description: 'role → methods it may call this route with (`*`: any); GET also allows HEAD',
      },
    ),
    challenge: Type.String({
      pattern: '^[\\x20-\\x7e]+$',
      maxLength: 256,
      default: 'Bearer realm="junction"',
      description: 'WWW-Authenticate of the 401 for a request nobody authenticated (RFC 9110 §11.6.1)',
    }),
  },
  { additionalProperties: false },
);

export type RbacConfig = Static<typeof rbacSchema>;
