/**
 * `auth.rbac` (Q33, role-based access control): a route lists which roles may call it with which
 * methods; the caller's roles come from `ctx.slots.principal`, set by an auth policy listed before
 * it (`auth.api-key`, `auth.jwt`, …). Role-based is coarse by design: who may call what. Decisions on
 * attributes of the caller, the resource or the time belong to ABAC.
 *
 * No principal → 401 `unauthenticated` (with the configured `WWW-Authenticate` challenge, RFC 9110
 * §15.5.2); a principal without an allowing role → 403 `forbidden`. Both are recorded in the audit
 * log with the reason; the answers name no roles or rules.
 */
import { JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv, type RequestContext } from '../../../core/policy.ts';
import { Forbidden, Unauthenticated } from '../auth-errors.ts';
import { allows, compileRoles } from './rules.ts';
import { type RbacConfig, rbacSchema } from './schema.ts';

export { allows, compileRoles, type RoleTable } from './rules.ts';
export type { RbacConfig } from './schema.ts';

/**
 * @example
 * const p = rbacPolicy({ allow: { reader: ['GET'], writer: ['GET', 'POST'] }, challenge: 'Bearer realm="api"' }, env);
 */
export function rbacPolicy(config: RbacConfig, env: PolicyEnv): Policy {
  const table = compileRoles(config.allow);
  const resource = `route:${env.routeName}`;

  const deny = (ctx: RequestContext, reason: string): void => {
    const p = ctx.slots.principal;
    env.services.audit.record({
      action: 'auth.deny',
      outcome: 'deny',
      ...(p ? { actor: { kind: p.kind, id: p.id } } : {}),
      resource,
      requestId: ctx.id,
      clientIp: ctx.clientIp,
      reason,
    });
  };

  return {
    onRequest(ctx) {
      const principal = ctx.slots.principal;
      if (principal === undefined) {
        deny(ctx, 'unauthenticated');
        throw new JunctionError(Unauthenticated, 'this route needs an authenticated caller', {
          headers: { 'www-authenticate': config.challenge },
        });
      }
      if (!allows(table, ctx.method, principal.roles)) {
        deny(ctx, 'forbidden:rbac_no_role');
        throw new JunctionError(Forbidden, `the caller may not ${ctx.method} this resource`);
      }
      return undefined;
    },
  };
}

export const rbac = definePolicy({
  name: 'auth.rbac',
  description: 'Role-based access: which roles of the principal may call the route with which methods',
  schema: rbacSchema,
  create: (config, env) => rbacPolicy(config, env),
});
