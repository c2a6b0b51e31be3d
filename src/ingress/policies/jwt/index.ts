/**
 * `auth.jwt` (Q21): validates a bearer JWT (RFC 7519) with jose and makes it the request's principal.
 * Keys come from a JWKS URL (cached, refetched on an unknown `kid` at most once per cooldown) or are
 * configured statically. Following the JWT BCP (RFC 8725): an algorithm allowlist is required and
 * `none` cannot be named (§3.1); each key is bound to one algorithm, so an RS route never accepts an
 * HS token signed with its public key (§2.1); `iss` and `aud` are checked when configured (§3.8,
 * §3.9); `typ` too (§3.11). `sub` and `exp` are always required.
 *
 * Refusals answer 401 `jwt_missing` or `jwt_invalid` with `WWW-Authenticate: Bearer` (RFC 6750 §3);
 * which check failed goes to the audit log (`reason`), never to the client.
 */
import { errors, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from 'jose';
import { JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv, type RequestContext } from '../../../core/policy.ts';
import { authConfigError } from '../auth-errors.ts';
import { claimAt, headerValue, principalOf } from './claims.ts';
import { JwksUnavailable, JwtInvalid, JwtMissing } from './errors.ts';
import { JwksCache, JwksFetchError } from './jwks.ts';
import { importStaticKeys, isHmac, staticKeyResolver } from './keys.ts';
import { reasonOf } from './reasons.ts';
import { type JwtConfig, jwtSchema } from './schema.ts';
import { tokenSource } from './token.ts';
import { deepFreeze, type Verified, VerifiedTokens } from './verified.ts';

export { claimAt } from './claims.ts';
export { JwksCache, type JwksOptions } from './jwks.ts';
export type { JwtConfig } from './schema.ts';

const NAME = 'auth.jwt';

export interface JwtOptions {
  /** Milliseconds since the epoch; defaults to `Date.now`. Tests pass a fixed clock. */
  now?: () => number;
  /** Replaces global fetch for the JWKS (tests). */
  fetch?: typeof fetch;
}

export interface JwtPolicy extends Policy {
  /** Present with `jwks`: the key cache (its `fetches` count is what tests watch). */
  readonly jwks: JwksCache | undefined;
}

/**
 * Builds the policy for one route; `jwt.create` is this with the real clock.
 * @example
 * const p = jwtPolicy({ algorithms: ['RS256'], keys: [{ alg: 'RS256', pem }], issuer: 'https://id' }, env);
 */
export function jwtPolicy(config: JwtConfig, env: PolicyEnv, options: JwtOptions = {}): JwtPolicy {
  const fail = (message: string) => authConfigError(env.routeName, NAME, message);
  const { logger, audit } = env.services;
  const now = options.now ?? Date.now;
  if ((config.jwks === undefined) === (config.keys === undefined))
    throw fail('give exactly one of jwks and keys');

  let getKey: JWTVerifyGetKey;
  let jwks: JwksCache | undefined;
  if (config.jwks) {
    // RFC 8725 §3.1/§2.1: an HMAC secret is never public; a JWKS cannot supply one.
    const hmac = config.algorithms.filter(isHmac);
    if (hmac.length > 0) throw fail(`${hmac.join(', ')} cannot be used with jwks; configure a secret key`);
    if (!URL.canParse(config.jwks.url)) throw fail(`jwks.url: not a URL: ${config.jwks.url}`);
    const { hostname, protocol } = new URL(config.jwks.url);
    if (protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(hostname))
      logger.warn(
        { route: env.routeName, url: config.jwks.url },
        'JWKS over plain http: keys can be swapped in transit',
      );
    const cache = new JwksCache({
      ...config.jwks,
      now,
      fetch: options.fetch,
      onError: (err) =>
        logger.warn({ route: env.routeName, url: config.jwks!.url, err }, 'JWKS fetch failed'),
    });
    jwks = cache;
    getKey = (header, token) => cache.getKey(header, token);
  } else {
    try {
      getKey = staticKeyResolver(importStaticKeys(config.keys!, config.algorithms));
    } catch (err) {
      throw fail((err as Error).message);
    }
  }

  const verifyOptions: JWTVerifyOptions = {
    algorithms: config.algorithms,
    issuer: config.issuer,
    audience: config.audience,
    typ: config.typ,
    clockTolerance: config.clockToleranceS,
    requiredClaims: ['sub', 'exp'],
  };
  const source = tokenSource(config.token);
  const forward = Object.entries(config.forward.claims);
  const cache = new VerifiedTokens(config.cache.maxEntries, config.cache.maxAgeMs, config.clockToleranceS);
  const realm = config.realm === undefined ? '' : ` realm="${config.realm}"`;
  const challenge = {
    missing: `Bearer${realm}`,
    invalid: `Bearer${realm ? `${realm},` : ''} error="invalid_token"`,
  };

  const deny = (ctx: RequestContext, reason: string): void =>
    audit.record({
      action: 'auth.deny',
      outcome: 'deny',
      resource: `route:${env.routeName}`,
      requestId: ctx.id,
      clientIp: ctx.clientIp,
      reason,
    });

  const admit = (ctx: RequestContext, v: Verified): undefined => {
    ctx.slots.principal = v.principal;
    ctx.slots.claims = v.claims;
    Object.assign(ctx.upstreamHeaders, v.forwarded);
    if (config.forward.stripToken) Object.assign(ctx.upstreamHeaders, source.strip(ctx.headers));
    return undefined;
  };

  const verified = (claims: Record<string, unknown>, nowMs: number): Verified => {
    for (const path of config.requiredClaims) {
      if (claimAt(claims, path) === undefined)
        throw new errors.JWTClaimValidationFailed(`missing ${path}`, claims, path, 'missing');
    }
    if (typeof claims.sub !== 'string' || claims.sub === '')
      throw new errors.JWTClaimValidationFailed('sub is not a string', claims, 'sub', 'invalid');
    deepFreeze(claims);
    const forwarded: Record<string, string> = {};
    // An absent claim still sets '' so that a client's own copy of the header is dropped.
    for (const [path, header] of forward) forwarded[header] = headerValue(claimAt(claims, path)) ?? '';
    return {
      claims,
      principal: deepFreeze(principalOf(claims, config)),
      forwarded,
      exp: typeof claims.exp === 'number' ? claims.exp : undefined,
      nbf: typeof claims.nbf === 'number' ? claims.nbf : undefined,
      verifiedAtMs: nowMs,
    };
  };

  const refuse = (ctx: RequestContext, err: unknown): never => {
    if (err instanceof JwksFetchError) {
      deny(ctx, 'jwks_unavailable');
      throw new JunctionError(JwksUnavailable, undefined, { cause: err });
    }
    deny(ctx, `jwt_invalid:${reasonOf(err)}`);
    throw new JunctionError(JwtInvalid, undefined, {
      cause: err,
      headers: { 'www-authenticate': challenge.invalid },
    });
  };

  return {
    jwks,
    onRequest(ctx) {
      const token = source.read(ctx.headers);
      if (token === undefined) {
        deny(ctx, 'jwt_missing');
        throw new JunctionError(JwtMissing, undefined, {
          headers: { 'www-authenticate': challenge.missing },
        });
      }
      const nowMs = now();
      // A cache hit answers synchronously: no promise for a token seen before.
      const hit = cache.get(token, nowMs);
      if (hit) return admit(ctx, hit);
      const opts = options.now ? { ...verifyOptions, currentDate: new Date(nowMs) } : verifyOptions;
      return jwtVerify(token, getKey, opts).then(
        ({ payload }) => {
          let v: Verified;
          try {
            v = verified(payload as Record<string, unknown>, nowMs);
          } catch (err) {
            return refuse(ctx, err);
          }
          cache.set(token, v);
          return admit(ctx, v);
        },
        (err: unknown) => refuse(ctx, err),
      );
    },
  };
}

export const jwt = definePolicy({
  name: NAME,
  description:
    'Validates bearer JWTs (JWKS or static keys, algorithm allowlist, iss/aud/exp) and sets the principal',
  schema: jwtSchema,
  create: (config, env) => jwtPolicy(config, env),
});
