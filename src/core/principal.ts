/**
 * Who a request is from, as the auth policies establish it (API key, JWT, client certificate,
 * browser session). Written to `ctx.slots.principal` by the first policy that authenticates the
 * request; read by authorization policies (RBAC, ABAC), rate limits and the audit log.
 */
export interface Principal {
  /** How the caller proved who it is. */
  kind: 'api-key' | 'jwt' | 'mtls' | 'session';
  /** Stable id of the caller: key id (`jk_…`), JWT `sub`, certificate SAN/SPIFFE id, user id. */
  id: string;
  /** Roles for RBAC (from the key, a claim, a certificate mapping or the session). */
  roles: string[];
  /** OAuth-style scopes, when the credential has them. */
  scopes: string[];
  /** Tenant the caller belongs to, for tenant-scoped resources. */
  tenant?: string;
  /** Every claim or attribute the credential carried (JWT claims, certificate fields, user info). */
  attributes: Record<string, unknown>;
}

declare module './policy.ts' {
  interface ContextSlots {
    principal: Principal;
    /** JWT claims (or session ID-token claims): sharding and balancing read claims from here. */
    claims: Record<string, unknown>;
  }
}
