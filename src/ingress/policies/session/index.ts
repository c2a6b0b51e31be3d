/**
 * `auth.session` (Q17, Q21): browser sign-in through the Backend-for-Frontend pattern. The gateway
 * is the OAuth client: it runs the authorization code flow with PKCE against an OpenID Provider,
 * keeps the tokens server-side (sealed at rest), and gives the browser only an opaque `__Host-`
 * cookie. Requests with a session reach the upstream with `Authorization: Bearer <access token>` and
 * identity headers; the access token is refreshed before it expires. docs/auth.md has the flow.
 *
 * The route that carries this policy must also match `loginPath`, `redirectPath` and `logoutPath`
 * (a `/*` route does): the policy answers those itself. Deployments terminate TLS at or before the
 * gateway — browsers keep `Secure` cookies only from https origins (and http://localhost).
 */
import { definePolicy, type Policy, type PolicyEnv } from '../../../core/policy.ts';
import { authenticate } from './authenticate.ts';
import { callback } from './callback.ts';
import { login } from './login.ts';
import { logout } from './logout.ts';
import { buildRealm } from './realm.ts';
import { type SessionConfig, sessionSchema } from './schema.ts';

export { Sealer } from './crypto.ts';
export type { SessionConfig } from './schema.ts';
export { closeSessionStores, provideSessionStore, type SessionStore } from './stores.ts';

declare module '../../../core/policy.ts' {
  interface ContextSlots {
    /** The browser session `auth.session` admitted the request with; `id` is the cookie's SHA-256. */
    session: { id: string; subject: string; expiresAt: number };
  }
}

/**
 * Builds the policy for one route; `session.create` is this.
 * @example
 * const p = sessionPolicy(Value.Default(sessionSchema, { issuer, clientId, encryptionKey }), env);
 */
export function sessionPolicy(config: SessionConfig, env: PolicyEnv): Policy {
  const realm = buildRealm(config, env);
  return {
    onRequest(ctx) {
      if (ctx.path === config.loginPath) return login(realm, ctx);
      if (ctx.path === config.redirectPath) return callback(realm, ctx);
      if (ctx.path === config.logoutPath) return logout(realm, ctx);
      // Another auth policy earlier on the route already knows the caller (an API key, a JWT).
      if (ctx.slots.principal !== undefined) return undefined;
      return authenticate(realm, ctx);
    },
  };
}

export const session = definePolicy({
  name: 'auth.session',
  description: 'Browser sessions (BFF): OIDC authorization code + PKCE, server-side tokens, __Host- cookie',
  schema: sessionSchema,
  create: sessionPolicy,
});
