/**
 * `auth.api-key`: authenticates a request by an API key (`x-api-key: jk_…`, or `Authorization: Bearer
 * jk_…` per RFC 6750 §2.1), sets `ctx.slots.principal` (kind `api-key`) and tells the upstream who
 * called through trusted `x-junction-*` headers. The key itself never reaches the upstream.
 *
 * Answers (docs/errors.md): 401 `api_key_missing`, 401 `api_key_invalid` for every bad key whatever
 * is wrong with it (unknown, wrong secret, revoked, expired: the reason goes to the audit log only,
 * OWASP API Security Top 10 2023 API2), both with a `WWW-Authenticate` challenge (RFC 6750 §3,
 * RFC 9110 §11.6.1); 403 `api_key_scope` when the key lacks a required scope; 503
 * `api_key_unavailable` when the store cannot be asked.
 */
import { JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv, type RequestContext } from '../../../core/policy.ts';
import type { ApiKey } from '../../../store/index.ts';
import { checkKey, type KeyDenial, missingScopes } from './check.ts';
import { ApiKeyInvalid, ApiKeyMissing, ApiKeyScope, ApiKeyUnavailable } from './errors.ts';
import { KeyCache } from './key-cache.ts';
import { type ApiKeyConfig, apiKeySchema } from './schema.ts';
import { lookupPrefix } from './secret.ts';
import { apiKeySource } from './source.ts';
import { LastUse } from './touch.ts';

export { checkKey, type KeyDenial, missingScopes } from './check.ts';
export { type IssueApiKeyInput, type IssuedApiKey, issueApiKey, KEY_ROLE, KEY_SCOPE } from './issue.ts';
export type { ApiKeyConfig } from './schema.ts';
export { API_KEY_SECRET, API_KEY_SECRET_PATTERN, hashSecret, lookupPrefix, mintSecret } from './secret.ts';
export { type ApiKeySource, apiKeySource, provideApiKeys } from './source.ts';
export { type ApiKeyView, apiKeyView } from './view.ts';

export interface ApiKeyOptions {
  /** Wall clock for expiry and last use; tests pass a fake one (it also drives the cache TTL). */
  now?: () => number;
}

interface Presented {
  secret: string;
  /** The request header it came in, removed before the request goes upstream. */
  header: string;
}

const BEARER_KEY = /^Bearer +(jk_\S*) *$/i;

/**
 * Builds the policy for one route; `apiKey.create` is this with the real clock.
 * @example
 * const p = apiKeyPolicy({ ...defaults, scopes: ['orders:read'] }, env);
 */
export function apiKeyPolicy(config: ApiKeyConfig, env: PolicyEnv, options: ApiKeyOptions = {}): Policy {
  const { services, routeName } = env;
  const now = options.now ?? Date.now;
  const header = config.header.toLowerCase();
  const fh = config.forwardHeaders;
  const cache = new KeyCache(
    (prefix) => {
      const source = apiKeySource(services);
      if (source === undefined) return Promise.reject(new Error('no API key source was provided'));
      return source.findByPrefix(prefix);
    },
    { ttlMs: config.cacheTtlMs, now: options.now },
  );
  const lastUse = new LastUse(services, now);

  // RFC 6750 §3 names the errors; a route that takes keys only in its own header has no registered
  // scheme, so it names the header in a challenge of its own (RFC 9110 §11.6.1 requires one).
  const scheme = config.bearer
    ? `Bearer realm="${config.realm}"`
    : `ApiKey realm="${config.realm}", header="${header}"`;
  const challenge = (error?: string, scope?: string) =>
    `${scheme}${error ? `, error="${error}"` : ''}${scope ? `, scope="${scope}"` : ''}`;

  const presented = (ctx: RequestContext): Presented | undefined => {
    const value = ctx.headers[header];
    if (typeof value === 'string' && value !== '') return { secret: value.trim(), header };
    if (!config.bearer) return undefined;
    // Only bearer tokens that look like our keys: a JWT for another policy on the route is not ours.
    const m = BEARER_KEY.exec(ctx.headers.authorization ?? '');
    return m ? { secret: m[1]!, header: 'authorization' } : undefined;
  };

  const deny = (ctx: RequestContext, reason: string, key?: ApiKey): void =>
    services.audit.record({
      action: 'auth.deny',
      outcome: 'deny',
      // Only a caller that proved it holds the secret is named as the actor.
      ...(key ? { actor: { kind: 'api-key', id: key.id } } : {}),
      resource: `route:${routeName}`,
      requestId: ctx.id,
      clientIp: ctx.clientIp,
      reason,
    });

  const missing = (ctx: RequestContext): never => {
    deny(ctx, 'api_key_missing');
    throw new JunctionError(ApiKeyMissing, `send an API key in the ${header} header`, {
      headers: { 'www-authenticate': challenge() },
    });
  };

  const invalid = (ctx: RequestContext, denial: KeyDenial | 'malformed', key?: ApiKey): never => {
    deny(ctx, `api_key_invalid:${denial}`, key);
    throw new JunctionError(ApiKeyInvalid, 'the API key is not valid', {
      headers: { 'www-authenticate': challenge('invalid_token') },
    });
  };

  const unavailable = (ctx: RequestContext, err: unknown): never => {
    services.logger.error({ err, requestId: ctx.id, route: routeName }, 'API key lookup failed');
    deny(ctx, 'api_key_unavailable');
    throw new JunctionError(ApiKeyUnavailable, 'API keys cannot be checked right now; retry', { cause: err });
  };

  const decide = (ctx: RequestContext, p: Presented, key: ApiKey | null): undefined => {
    const denial: KeyDenial | undefined = checkKey(key, p.secret, now());
    if (denial !== undefined) {
      return invalid(ctx, denial, denial === 'revoked' || denial === 'expired' ? key! : undefined);
    }
    const k = key!;
    const lacking = missingScopes(k, config.scopes);
    if (lacking.length > 0) {
      deny(ctx, `api_key_scope:${lacking.join(' ')}`, k);
      throw new JunctionError(ApiKeyScope, 'the API key lacks a scope this route requires', {
        headers: { 'www-authenticate': challenge('insufficient_scope', config.scopes.join(' ')) },
      });
    }
    ctx.slots.principal = {
      kind: 'api-key',
      id: k.id,
      roles: k.roles,
      scopes: k.scopes,
      ...(k.tenant === null ? {} : { tenant: k.tenant }),
      attributes: { name: k.name },
    };
    const up = ctx.upstreamHeaders;
    up[p.header] = ''; // the gateway's credential, not the upstream's: an empty value drops it
    up[fh.id] = k.id;
    up[fh.roles] = k.roles.join(',');
    up[fh.scopes] = k.scopes.join(' ');
    up[fh.tenant] = k.tenant ?? '';
    lastUse.record(k.id);
    return undefined;
  };

  return {
    onRequest(ctx) {
      const p = presented(ctx);
      if (p === undefined) return config.required ? missing(ctx) : undefined;
      const prefix = lookupPrefix(p.secret);
      if (prefix === undefined) return invalid(ctx, 'malformed');
      const found = cache.get(prefix);
      // A cached key keeps the request synchronous (docs/lifecycle.md).
      if (!(found instanceof Promise)) return decide(ctx, p, found);
      return found.then(
        (key) => decide(ctx, p, key),
        (err: unknown) => unavailable(ctx, err),
      );
    },
  };
}

export const apiKey = definePolicy({
  name: 'auth.api-key',
  description:
    'Authenticates requests by API key (x-api-key or Bearer jk_…), sets the principal, forwards x-junction-* identity headers',
  schema: apiKeySchema,
  create: (config, env) => apiKeyPolicy(config, env),
});
