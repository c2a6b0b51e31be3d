/**
 * The shard directory (Q22) for `shard` routes with `strategy: directory`: list, read, assign and
 * remove keys. An edit is seen at once by this node and by others within the route's `cacheMs`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import type { Services } from '../../core/services.ts';
import type { Runtime } from '../../ingress/index.ts';
import type { Store } from '../../store/index.ts';
import { actorOf, adminCaller, requireRole } from '../auth.ts';
import { AdminNotFound, AdminValidation } from '../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';

export interface ShardAdmin {
  store: Store;
  services: Services;
  runtime(): Runtime;
}

const Entry = Type.Object({
  route: Type.String(),
  key: Type.String(),
  upstream: Type.String(),
  updated_at: Type.String({ format: 'date-time' }),
});
const RouteParams = Type.Object({ route: Type.String({ maxLength: 64 }) });
const KeyParams = Type.Object({
  route: Type.String({ maxLength: 64 }),
  key: Type.String({ minLength: 1, maxLength: 512 }),
});
const Assign = Type.Object(
  { upstream: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

function view(e: { route: string; key: string; upstream: string; updatedAt: number }) {
  return {
    route: e.route,
    key: e.key,
    upstream: e.upstream,
    updated_at: new Date(e.updatedAt).toISOString(),
  };
}

function audited(
  deps: ShardAdmin,
  req: FastifyRequest,
  action: string,
  resource: string,
  before: unknown,
  after: unknown,
) {
  deps.services.audit.record({
    action,
    outcome: 'success',
    actor: actorOf(adminCaller(req)),
    resource,
    requestId: req.id,
    clientIp: req.ip,
    ...(before === undefined ? {} : { before }),
    ...(after === undefined ? {} : { after }),
  });
}

/** The route must be a directory-sharded route of the running config. */
function directoryRoute(deps: ShardAdmin, name: string) {
  const route = deps.runtime().routes.get(name);
  if (route?.config.shard?.strategy !== 'directory') {
    throw new JunctionError(AdminNotFound, `no route ${name} with shard.strategy directory`);
  }
  return route;
}

export function registerShardRoutes(api: FastifyInstance, deps: ShardAdmin): void {
  const tags = ['shards'];
  api.get(
    '/shards/:route',
    {
      schema: {
        summary: 'Keys assigned in a route’s shard directory, by key',
        tags,
        params: RouteParams,
        querystring: PageQuery,
        response: { 200: pageSchema(Entry) },
      },
    },
    async (req) => {
      const { route } = req.params as Static<typeof RouteParams>;
      directoryRoute(deps, route);
      const q = req.query as Static<typeof PageQuery>;
      const kind = `shards:${route}`;
      const page = await deps.store.shards.list(route, {
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor(kind, q.cursor),
      });
      return toPage(kind, page.items.map(view), page.next);
    },
  );

  api.get(
    '/shards/:route/:key',
    {
      schema: {
        summary: 'The shard a key is assigned to',
        tags,
        params: KeyParams,
        response: { 200: Entry },
      },
    },
    async (req) => {
      const { route, key } = req.params as Static<typeof KeyParams>;
      directoryRoute(deps, route);
      const entry = await deps.store.shards.get(route, key);
      if (!entry) throw new JunctionError(AdminNotFound, `key ${key} is not assigned in ${route}`);
      return view(entry);
    },
  );

  api.put(
    '/shards/:route/:key',
    {
      ...requireRole('operator'),
      schema: {
        summary: 'Assign a key to a shard (an upstream of the running config)',
        tags,
        params: KeyParams,
        body: Assign,
        response: { 200: Entry },
      },
    },
    async (req) => {
      const { route, key } = req.params as Static<typeof KeyParams>;
      const { upstream } = req.body as Static<typeof Assign>;
      const compiled = directoryRoute(deps, route);
      if (!deps.runtime().upstreams.has(upstream)) {
        throw new JunctionError(AdminValidation, `no upstream named ${upstream} in the running config`);
      }
      const before = await deps.store.shards.get(route, key);
      const entry = await deps.store.shards.put(route, key, upstream);
      compiled.handler.invalidate?.(key);
      audited(deps, req, 'admin.shard.assign', `${route}/${key}`, before && view(before), view(entry));
      return view(entry);
    },
  );

  api.delete(
    '/shards/:route/:key',
    {
      ...requireRole('operator'),
      schema: {
        summary: 'Remove a key’s assignment (requests then use the route’s default shard)',
        tags,
        params: KeyParams,
      },
    },
    async (req, reply) => {
      const { route, key } = req.params as Static<typeof KeyParams>;
      const compiled = directoryRoute(deps, route);
      const before = await deps.store.shards.get(route, key);
      if (!(await deps.store.shards.delete(route, key))) {
        throw new JunctionError(AdminNotFound, `key ${key} is not assigned in ${route}`);
      }
      compiled.handler.invalidate?.(key);
      audited(deps, req, 'admin.shard.remove', `${route}/${key}`, before && view(before), undefined);
      return reply.code(204).send();
    },
  );
}
