/**
 * Who may call the admin API, and what they may do (docs/auth.md "Admin API roles").
 *
 * Authentication: a bearer token (RFC 6750 §2.1): the single `admin.token` / JUNCTION_ADMIN_TOKEN
 * (role admin, named `default`), a named token of `admin.tokens` (read from the running config, so a
 * reload adds or removes tokens), or an API key holding a `junction:<role>` role. Tokens are compared
 * as SHA-256 digests with `timingSafeEqual`, so neither content nor length leaks through timing.
 *
 * Authorization: viewer < operator < admin. A route names the least role it needs with
 * `requireRole()`; a route that names none needs viewer for GET/HEAD and admin for anything else, so a
 * new route is closed by default. A tenant-scoped caller may only use routes marked `tenantScoped`,
 * which filter by `adminCaller(req).tenant` themselves.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AdminTokenConfig } from '../config/schema.ts';
import { JunctionError } from '../core/errors.ts';
import type { Services } from '../core/services.ts';
import { checkKey, lookupPrefix } from '../ingress/policies/api-key/index.ts';
import type { ApiKeyRepository } from '../store/index.ts';
import { AdminForbidden, AdminUnauthorized } from './errors.ts';

export type AdminRole = 'viewer' | 'operator' | 'admin';

const RANK: Readonly<Record<AdminRole, number>> = { viewer: 0, operator: 1, admin: 2 };

/**
 * API key roles that open the admin API. Namespaced, so that a key minted for some upstream's own
 * `admin` role never doubles as a gateway admin credential.
 */
export const ADMIN_KEY_ROLES: Readonly<Record<string, AdminRole>> = {
  'junction:viewer': 'viewer',
  'junction:operator': 'operator',
  'junction:admin': 'admin',
};

/** The authenticated caller of one admin request. */
export interface AdminCaller {
  kind: 'admin-token' | 'api-key';
  /** The token's name, or the API key's id: the audit log's actor. */
  name: string;
  role: AdminRole;
  /** Set for a tenant-scoped caller: it sees and acts on this tenant's resources only. */
  tenant: string | undefined;
}

export interface AdminRouteAccess {
  adminRole?: AdminRole;
  tenantScoped?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig extends AdminRouteAccess {}
}

/**
 * Route options fragment naming the least role a route needs.
 * @example
 * api.post('/config/reload', { ...requireRole('operator'), schema }, handler);
 */
export function requireRole(role: AdminRole, options: { tenantScoped?: boolean } = {}) {
  return { config: { adminRole: role, tenantScoped: options.tenantScoped ?? false } };
}

const callers = new WeakMap<FastifyRequest, AdminCaller>();

/** The caller `adminAuth` established; only for routes under its hook. */
export function adminCaller(req: FastifyRequest): AdminCaller {
  const caller = callers.get(req);
  if (caller === undefined) throw new Error('adminCaller() on a route without adminAuth');
  return caller;
}

/** The audit log's actor for this caller. */
export function actorOf(caller: AdminCaller): { kind: string; id: string } {
  return { kind: caller.kind, id: caller.name };
}

export interface AdminAuthOptions {
  /** `admin.token` or JUNCTION_ADMIN_TOKEN (or the random lock when neither is set): role admin. */
  token: string;
  /** `admin.tokens` of the running config. */
  tokens(): readonly AdminTokenConfig[];
  /** `admin.apiKeys` of the running config. */
  apiKeysEnabled(): boolean;
  apiKeys: Pick<ApiKeyRepository, 'findByPrefix'>;
  /** Read at each use: the gateway may swap its audit sink after the app is built. */
  services: Pick<Services, 'audit'>;
  now?: () => number;
}

interface CompiledToken {
  digest: Buffer;
  caller: AdminCaller;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function adminAuth(options: AdminAuthOptions) {
  const now = options.now ?? Date.now;
  const legacy: CompiledToken = {
    digest: digest(options.token),
    caller: { kind: 'admin-token', name: 'default', role: 'admin', tenant: undefined },
  };
  // Digests once per config: the array is a new object after every reload.
  const compiled = new WeakMap<readonly AdminTokenConfig[], CompiledToken[]>();
  const tokens = (): CompiledToken[] => {
    const list = options.tokens();
    let out = compiled.get(list);
    if (out === undefined) {
      out = [
        legacy,
        ...list.map((t) => ({
          digest: digest(t.token),
          caller: { kind: 'admin-token' as const, name: t.name, role: t.role, tenant: t.tenant },
        })),
      ];
      compiled.set(list, out);
    }
    return out;
  };

  const deny = (req: FastifyRequest, reason: string, caller?: AdminCaller) =>
    options.services.audit.record({
      action: 'auth.deny',
      outcome: 'deny',
      ...(caller ? { actor: actorOf(caller) } : {}),
      resource: `admin:${req.method} ${req.url.split('?')[0]}`,
      requestId: req.id,
      clientIp: req.ip,
      reason,
    });

  const unauthorized = (req: FastifyRequest, sent: boolean, reason: string): never => {
    deny(req, reason);
    // RFC 6750 §3: a 401 names the scheme, and the error when a token was sent.
    const challenge = sent
      ? 'Bearer realm="junction-admin", error="invalid_token"'
      : 'Bearer realm="junction-admin"';
    throw new JunctionError(
      AdminUnauthorized,
      sent ? 'the admin token is not valid' : 'send Authorization: Bearer <admin token>',
      { headers: { 'www-authenticate': challenge } },
    );
  };

  const byApiKey = async (req: FastifyRequest, secret: string, prefix: string): Promise<AdminCaller> => {
    const key = (await options.apiKeys.findByPrefix(prefix)) ?? null;
    const denial = checkKey(key, secret, now());
    if (denial !== undefined) return unauthorized(req, true, `admin_unauthorized:api_key_${denial}`);
    let role: AdminRole | undefined;
    for (const r of key!.roles) {
      const mapped = ADMIN_KEY_ROLES[r];
      if (mapped !== undefined && (role === undefined || RANK[mapped] > RANK[role])) role = mapped;
    }
    const caller: AdminCaller = {
      kind: 'api-key',
      name: key!.id,
      role: role ?? 'viewer',
      tenant: key!.tenant ?? undefined,
    };
    if (role === undefined) {
      deny(req, 'admin_forbidden:no_admin_role', caller);
      throw new JunctionError(
        AdminForbidden,
        'this API key has no junction:admin, junction:operator or junction:viewer role',
      );
    }
    return caller;
  };

  const byToken = (token: string): AdminCaller | undefined => {
    const presented = digest(token);
    let found: AdminCaller | undefined;
    // Every candidate is compared, so the time taken does not say which one matched.
    for (const t of tokens())
      if (timingSafeEqual(presented, t.digest) && found === undefined) found = t.caller;
    return found;
  };

  return async (req: FastifyRequest): Promise<void> => {
    const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(req.headers.authorization ?? '');
    if (!m) return unauthorized(req, false, 'admin_unauthorized:missing');
    const token = m[1]!;
    const prefix = token.startsWith('jk_') ? lookupPrefix(token) : undefined;
    let caller: AdminCaller | undefined;
    if (prefix !== undefined && options.apiKeysEnabled()) caller = await byApiKey(req, token, prefix);
    else caller = byToken(token);
    if (caller === undefined) return unauthorized(req, true, 'admin_unauthorized:token');

    const access = req.routeOptions.config;
    const needed = access.adminRole ?? (SAFE_METHODS.has(req.method) ? 'viewer' : 'admin');
    if (RANK[caller.role] < RANK[needed]) {
      deny(req, `admin_forbidden:role_${caller.role}`, caller);
      throw new JunctionError(
        AdminForbidden,
        `the ${caller.role} role may not ${req.method} ${req.url.split('?')[0]}; it needs ${needed}`,
      );
    }
    if (caller.tenant !== undefined && access.tenantScoped !== true) {
      deny(req, 'admin_forbidden:tenant', caller);
      throw new JunctionError(
        AdminForbidden,
        `a caller scoped to tenant ${caller.tenant} may not use this resource`,
      );
    }
    callers.set(req, caller);
  };
}
