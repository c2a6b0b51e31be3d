/** Admin resources of the core: the running config, reloads and their history, nodes, routes, upstreams. */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { ConfigInvalid } from '../../config/errors.ts';
import type { Config } from '../../config/schema.ts';
import { JunctionError } from '../../core/errors.ts';
import type { Services } from '../../core/services.ts';
import type { RouteSummary, UpstreamSummary } from '../../ingress/index.ts';
import { CONFIG_REVISION_STATUSES, type Store } from '../../store/index.ts';
import { actorOf, adminCaller, requireRole } from '../auth.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';

export interface ReloadOutcome {
  status: 'applied' | 'rejected';
  revision: string;
  hash: string;
  /** For a rejected reload: the config errors, with file, line and path. */
  issues?: { file: string; line: number; col: number; path: string; message: string }[];
  message?: string;
}

export interface ConfigAdmin {
  store: Store;
  services: Services;
  currentConfig(): { revision: string | undefined; hash: string; config: Config };
  reload(by: string): Promise<ReloadOutcome>;
  routes(): RouteSummary[];
  upstreams(): UpstreamSummary[];
}

const Revision = Type.Object({
  id: Type.String(),
  hash: Type.String(),
  status: Type.String(),
  source: Type.String(),
  applied_by: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});

const RevisionQuery = Type.Object(
  {
    ...PageQuery.properties,
    status: Type.Optional(Type.Union(CONFIG_REVISION_STATUSES.map((s) => Type.Literal(s)))),
  },
  { additionalProperties: false },
);

const Reloaded = Type.Object({ status: Type.String(), revision: Type.String(), hash: Type.String() });

/** Never show secrets, even to admins: tokens are write-only (STYLE.md §9). */
function redacted(config: Config): Config {
  const copy = structuredClone(config);
  if (copy.admin.token) copy.admin.token = '[redacted]';
  for (const t of copy.admin.tokens ?? []) t.token = '[redacted]';
  if (copy.store.url) copy.store.url = withoutPassword(copy.store.url);
  const otlp = copy.observability.otlp;
  if (otlp) {
    otlp.endpoint = withoutPassword(otlp.endpoint);
    // Collector headers are credentials (`Authorization`, API keys) more often than not.
    for (const name of Object.keys(otlp.headers ?? {})) otlp.headers![name] = '[redacted]';
  }
  return copy;
}

/** `postgres://user:secret@host/db?password=…` → the same URL with the password replaced. */
function withoutPassword(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  if (!u.password && !u.searchParams.has('password')) return url;
  if (u.password) u.password = 'redacted';
  if (u.searchParams.has('password')) u.searchParams.set('password', 'redacted');
  return u.toString();
}

export function registerConfigRoutes(api: FastifyInstance, deps: ConfigAdmin): void {
  api.get(
    '/config',
    { schema: { summary: 'The running configuration (secrets redacted)', tags: ['config'] } },
    async () => {
      const { revision, hash, config } = deps.currentConfig();
      return { revision: revision ?? null, hash, config: redacted(config) };
    },
  );

  api.post(
    '/config/reload',
    {
      ...requireRole('operator'),
      schema: {
        summary: 'Re-read junction.yaml; the new config replaces the running one only if it is valid',
        tags: ['config'],
        response: { 200: Reloaded },
      },
    },
    async (req) => {
      const caller = adminCaller(req);
      const outcome = await deps.reload(`admin:${caller.name}`);
      deps.services.audit.record({
        action: 'admin.config.reload',
        outcome: outcome.status === 'applied' ? 'success' : 'failure',
        actor: actorOf(caller),
        resource: outcome.revision,
        requestId: req.id,
        clientIp: req.ip,
      });
      if (outcome.status === 'rejected') {
        throw new JunctionError(ConfigInvalid, outcome.message ?? 'the configuration is invalid', {
          extensions: { revision: outcome.revision, issues: outcome.issues ?? [] },
        });
      }
      return { status: outcome.status, revision: outcome.revision, hash: outcome.hash };
    },
  );

  api.get(
    '/config/revisions',
    {
      schema: {
        summary: 'Every config load, applied or rejected, newest first',
        tags: ['config'],
        querystring: RevisionQuery,
        response: { 200: pageSchema(Revision) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof RevisionQuery>;
      const page = await deps.store.configRevisions.list({
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor('config_revisions', q.cursor),
        status: q.status,
      });
      const data = page.items.map((r) => ({
        id: r.id,
        hash: r.hash,
        status: r.status,
        source: r.source,
        applied_by: r.appliedBy,
        error: r.error,
        created_at: new Date(r.createdAt).toISOString(),
      }));
      return toPage('config_revisions', data, page.next);
    },
  );

  api.get(
    '/nodes',
    { schema: { summary: 'Gateway nodes holding a Snowflake node id lease', tags: ['cluster'] } },
    async () => {
      const nodes = await deps.store.nodes.list();
      return { data: nodes };
    },
  );

  api.get(
    '/routes',
    { schema: { summary: 'Compiled routes of the running config', tags: ['config'] } },
    async () => ({
      data: deps.routes(),
    }),
  );

  api.get(
    '/upstreams',
    {
      schema: {
        summary: 'Upstreams with pool statistics (Q34: connections opened vs requests sent)',
        tags: ['config'],
      },
    },
    async () => ({ data: deps.upstreams() }),
  );
}
