/**
 * API keys for `auth.api-key` (docs/auth.md "API keys"): create (the secret is in the 201 answer and
 * nowhere else, ever), list, read, revoke. Key management needs the admin role; a tenant-scoped
 * admin sees, creates and revokes its own tenant's keys only, and another tenant's key is a 404 to it
 * (not a 403, which would confirm the key exists). Every change goes to the audit log without secrets.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import type { Services } from '../../core/services.ts';
import { apiKeyView, issueApiKey } from '../../ingress/policies/api-key/index.ts';
import type { ApiKey, Store } from '../../store/index.ts';
import { type AdminCaller, actorOf, adminCaller, requireRole } from '../auth.ts';
import { AdminForbidden, AdminNotFound, AdminValidation } from '../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';

export interface KeysAdmin {
  store: Store;
  services: Services;
}

const Tenant = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$', maxLength: 64 });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const KeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'Non-secret start of the secret, to match a leaked jk_… to its key' }),
  scopes: Type.Array(Type.String()),
  roles: Type.Array(Type.String()),
  tenant: Nullable(Type.String()),
  expires_at: Nullable(Type.String({ format: 'date-time' })),
  revoked_at: Nullable(Type.String({ format: 'date-time' })),
  created_at: Type.String({ format: 'date-time' }),
  created_by: Nullable(Type.String()),
  last_used_at: Nullable(Type.String({ format: 'date-time' })),
});
const Created = Type.Object({
  ...KeyView.properties,
  secret: Type.String({ description: 'The key. Shown once: only its SHA-256 is stored' }),
});

const Create = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    // RFC 6749 §3.3 scope-token.
    scopes: Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$', maxLength: 128 }), {
      maxItems: 64,
      default: [],
    }),
    // The roles auth.rbac matches; `junction:admin|operator|viewer` also open the admin API.
    roles: Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$', maxLength: 64 }), {
      maxItems: 32,
      default: [],
    }),
    tenant: Type.Optional(Tenant),
    expires_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  { ...PageQuery.properties, tenant: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** The key, if the caller may see it; otherwise the same 404 as for a key that does not exist. */
async function visibleKey(deps: KeysAdmin, caller: AdminCaller, id: string): Promise<ApiKey> {
  const key = await deps.store.apiKeys.get(id);
  if (key === undefined || (caller.tenant !== undefined && key.tenant !== caller.tenant)) {
    throw new JunctionError(AdminNotFound, `no API key ${id}`);
  }
  return key;
}

function tenantFor(caller: AdminCaller, asked: string | undefined): string | null {
  if (caller.tenant === undefined) return asked ?? null;
  if (asked !== undefined && asked !== caller.tenant) {
    throw new JunctionError(
      AdminForbidden,
      `a caller scoped to tenant ${caller.tenant} creates keys of that tenant only`,
    );
  }
  return caller.tenant;
}

function expiryOf(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const at = Date.parse(value);
  if (!Number.isFinite(at) || at <= now) {
    throw new JunctionError(AdminValidation, 'expires_at must be a date-time in the future');
  }
  return at;
}

function audited(deps: KeysAdmin, req: FastifyRequest, action: string, key: ApiKey, before?: ApiKey) {
  deps.services.audit.record({
    action,
    outcome: 'success',
    actor: actorOf(adminCaller(req)),
    resource: key.id,
    requestId: req.id,
    clientIp: req.ip,
    ...(before ? { before: apiKeyView(before) } : {}),
    after: apiKeyView(key),
  });
}

export function registerKeyRoutes(api: FastifyInstance, deps: KeysAdmin): void {
  const tags = ['keys'];
  const access = requireRole('admin', { tenantScoped: true });

  api.post(
    '/keys',
    {
      ...access,
      schema: {
        summary: 'Create an API key; the answer holds its secret, shown this once',
        tags,
        body: Create,
        response: { 201: Created },
      },
    },
    async (req, reply) => {
      const body = req.body as Static<typeof Create>;
      const caller = adminCaller(req);
      const now = Date.now();
      const { key, secret } = await issueApiKey(
        deps.store.apiKeys,
        deps.services.ids,
        {
          name: body.name,
          scopes: body.scopes,
          roles: body.roles,
          tenant: tenantFor(caller, body.tenant),
          expiresAt: expiryOf(body.expires_at, now),
          createdBy: caller.name,
        },
        now,
      );
      audited(deps, req, 'admin.key.create', key);
      // A secret must not sit in a shared cache (RFC 9111 §5.2.2.5).
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...apiKeyView(key), secret });
    },
  );

  api.get(
    '/keys',
    {
      ...access,
      schema: {
        summary: 'API keys, newest first (never their secrets)',
        tags,
        querystring: ListQuery,
        response: { 200: pageSchema(KeyView) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof ListQuery>;
      const caller = adminCaller(req);
      // A tenant-scoped caller lists its tenant whatever it asks for; asking for another is empty.
      const tenant = caller.tenant ?? q.tenant;
      const kind = tenant === undefined ? 'api_keys' : `api_keys:${tenant}`;
      if (caller.tenant !== undefined && q.tenant !== undefined && q.tenant !== caller.tenant) {
        return toPage(kind, [], undefined);
      }
      const page = await deps.store.apiKeys.list({
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor(kind, q.cursor),
        ...(tenant === undefined ? {} : { tenant }),
      });
      return toPage(kind, page.items.map(apiKeyView), page.next);
    },
  );

  api.get(
    '/keys/:id',
    { ...access, schema: { summary: 'One API key', tags, params: IdParams, response: { 200: KeyView } } },
    async (req) => {
      const { id } = req.params as Static<typeof IdParams>;
      return apiKeyView(await visibleKey(deps, adminCaller(req), id));
    },
  );

  api.delete(
    '/keys/:id',
    {
      ...access,
      schema: {
        summary: 'Revoke an API key; gateways refuse it within their auth.api-key cacheTtlMs',
        tags,
        params: IdParams,
        response: { 200: KeyView },
      },
    },
    async (req) => {
      const { id } = req.params as Static<typeof IdParams>;
      const before = await visibleKey(deps, adminCaller(req), id);
      if (before.revokedAt !== null) return apiKeyView(before);
      const after = await deps.store.apiKeys.revoke(id);
      if (after === undefined) throw new JunctionError(AdminNotFound, `no API key ${id}`);
      audited(deps, req, 'admin.key.revoke', after, before);
      return apiKeyView(after);
    },
  );
}
