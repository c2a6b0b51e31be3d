/**
 * `auth.abac` (Q33, attribute-based access control) with Cedar: the route's Cedar policies decide
 * from the principal's attributes, the resource's (from path params, headers, claims), the action
 * (the HTTP method, or what it maps to) and the context (local time of day, client IP, route). The
 * seed's "an employee may edit a document they own, before 18:00" is one Cedar policy:
 *
 *   permit (principal, action == Action::"edit", resource is Document)
 *   when { principal.employee && resource.owner == principal && context.time.hour < 18 };
 *
 * Cedar denies unless a `permit` matches and no `forbid` does. A deny answers 403 `forbidden` and
 * names nothing of the policies; the audit log gets the deciding policy ids. Without a principal (no
 * authentication policy ran before this one) the answer is 401 `unauthenticated`.
 */
import { JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv, type RequestContext } from '../../../core/policy.ts';
import { authConfigError, Forbidden, Unauthenticated } from '../auth-errors.ts';
import { type Cedar, compilePolicies, loadCedar, readText } from './cedar.ts';
import { localTime } from './clock.ts';
import { cedarRequest } from './request.ts';
import { type AbacConfig, abacSchema } from './schema.ts';

export type { AbacConfig } from './schema.ts';

const NAME = 'auth.abac';

export interface AbacOptions {
  /** Milliseconds since the epoch for `context.time`; defaults to `Date.now`. Tests pass a fixed clock. */
  now?: () => number;
}

/**
 * Builds the policy for one route; `abac.create` is this with the real clock.
 * @example
 * const p = abacPolicy({ policies: 'permit(principal, action == Action::"GET", resource);', resource: { type: 'Doc' } }, env);
 */
export function abacPolicy(config: AbacConfig, env: PolicyEnv, options: AbacOptions = {}): Policy {
  const fail = (message: string) => authConfigError(env.routeName, NAME, message);
  const { logger, audit } = env.services;
  const now = options.now ?? Date.now;
  let cedar: Cedar;
  let setId: string;
  let time: ReturnType<typeof localTime>;
  try {
    const loaded = loadCedar();
    if (loaded.first)
      logger.info(
        { cedar: loaded.cedar.getCedarVersion(), loadMs: Math.round(loaded.loadMs) },
        'cedar loaded',
      );
    cedar = loaded.cedar;
    time = localTime(config.context.timeZone);
    const policies = readText(config.policies, config.policiesFile, 'policies');
    const schema =
      config.schema === undefined && config.schemaFile === undefined
        ? undefined
        : readText(config.schema, config.schemaFile, 'schema');
    setId = compilePolicies(cedar, policies, schema).setId;
    if (config.entities.length > 0) {
      const checked = cedar.checkParseEntities({ entities: config.entities as never });
      if (checked.type === 'failure')
        throw new Error(`entities: ${checked.errors.map((e) => e.message).join('; ')}`);
    }
  } catch (err) {
    throw fail(err instanceof RangeError ? `context.timeZone: ${err.message}` : (err as Error).message);
  }

  const deny = (ctx: RequestContext, reason: string, resource?: string) => {
    const p = ctx.slots.principal;
    audit.record({
      action: 'auth.deny',
      outcome: 'deny',
      actor: p && { kind: p.kind, id: p.id },
      resource: resource === undefined ? `route:${env.routeName}` : `route:${env.routeName} ${resource}`,
      requestId: ctx.id,
      clientIp: ctx.clientIp,
      reason,
    });
  };

  return {
    onRequest(ctx) {
      const principal = ctx.slots.principal;
      if (!principal) {
        deny(ctx, 'abac:no_principal');
        throw new JunctionError(Unauthenticated);
      }
      const req = cedarRequest(ctx, principal, config, time(now()));
      const answer = cedar.statefulIsAuthorized({ ...req, preparsedPolicySetId: setId });
      const resource = `${req.resource.type}::${JSON.stringify(req.resource.id)}`;
      if (answer.type === 'failure') {
        // A request Cedar cannot even evaluate (a malformed value): fail closed, and say so in the log.
        const errors = answer.errors.map((e) => e.message);
        logger.warn(
          { requestId: ctx.id, route: env.routeName, errors },
          'cedar could not evaluate the request',
        );
        deny(ctx, 'abac:error', resource);
        throw new JunctionError(Forbidden);
      }
      const { decision, diagnostics } = answer.response;
      if (decision === 'allow') return undefined;
      // Deny: the reason lists the forbid policies that matched; empty means no permit matched.
      const errored = diagnostics.errors.map((e) => e.policyId);
      const why = diagnostics.reason.length > 0 ? `forbid=${diagnostics.reason.join(',')}` : 'no_permit';
      deny(ctx, `abac:${why}${errored.length > 0 ? ` errored=${errored.join(',')}` : ''}`, resource);
      throw new JunctionError(Forbidden);
    },
  };
}

export const abac = definePolicy({
  name: NAME,
  description:
    'Attribute-based access control with Cedar policies over principal, action, resource and context (time, IP)',
  schema: abacSchema,
  create: (config, env) => abacPolicy(config, env),
});
