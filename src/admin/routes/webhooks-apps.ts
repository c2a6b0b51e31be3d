/**
 * Outbound webhook applications (issue #7): create, list, read, update, soft delete and restore
 * (Q48). Admins manage, viewers read; tenant-scoped callers work within their tenant. Every change
 * is audited.
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import { AppView, appView, WebhookNotRestorable, WebhookUidTaken } from '../../webhooks/index.ts';
import { adminCaller, requireRole } from '../auth.ts';
import { AdminNotFound } from '../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';
import {
  AppParams,
  audited,
  Nullable,
  RetrySchedule,
  settingsOf,
  tenantOf,
  Uid,
  visibleApp,
  type WebhooksAdmin,
} from './webhooks-common.ts';

const Tenant = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$', maxLength: 64 });
const RateLimit = Type.Integer({ minimum: 1, maximum: 100_000, description: 'Deliveries per second' });

const CreateApp = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    uid: Type.Optional(Uid),
    tenant: Type.Optional(Tenant),
    rate_limit: Type.Optional(Nullable(RateLimit)),
    retry_schedule_ms: Type.Optional(Nullable(RetrySchedule)),
  },
  { additionalProperties: false },
);
const PatchApp = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    uid: Type.Optional(Nullable(Uid)),
    rate_limit: Type.Optional(Nullable(RateLimit)),
    retry_schedule_ms: Type.Optional(Nullable(RetrySchedule)),
  },
  { additionalProperties: false },
);
const ListApps = Type.Object(
  { ...PageQuery.properties, tenant: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);

export function registerWebhookAppRoutes(api: FastifyInstance, deps: WebhooksAdmin): void {
  const tags = ['webhooks'];
  const read = requireRole('viewer', { tenantScoped: true });
  const manage = requireRole('admin', { tenantScoped: true });
  const apps = deps.store.webhooks.apps;

  api.post(
    '/apps',
    {
      ...manage,
      schema: {
        summary: 'Create an application (one per customer)',
        tags,
        body: CreateApp,
        response: { 201: AppView },
      },
    },
    async (req, reply) => {
      const body = req.body as Static<typeof CreateApp>;
      const caller = adminCaller(req);
      const app = await apps.create({
        id: deps.services.ids.next('app'),
        tenant: tenantOf(caller, body.tenant),
        uid: body.uid ?? null,
        name: body.name,
        rateLimit: body.rate_limit ?? null,
        retryScheduleMs: body.retry_schedule_ms ?? null,
        now: Date.now(),
      });
      if (app === undefined)
        throw new JunctionError(WebhookUidTaken, `an application with uid ${body.uid} exists`);
      audited(deps, req, 'webhook.app.create', app.id, { after: appView(app) });
      return reply.code(201).send(appView(app));
    },
  );

  api.get(
    '/apps',
    {
      ...read,
      schema: {
        summary: 'Applications, newest first',
        tags,
        querystring: ListApps,
        response: { 200: pageSchema(AppView) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof ListApps>;
      const caller = adminCaller(req);
      const tenant = caller.tenant ?? q.tenant;
      const kind = tenant === undefined ? 'webhook_apps' : `webhook_apps:${tenant}`;
      if (caller.tenant !== undefined && q.tenant !== undefined && q.tenant !== caller.tenant) {
        return toPage(kind, [], undefined);
      }
      const page = await apps.list({
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor(kind, q.cursor),
        ...(tenant === undefined ? {} : { tenant }),
      });
      return toPage(kind, page.items.map(appView), page.next);
    },
  );

  api.get(
    '/apps/:app',
    {
      ...read,
      schema: {
        summary: 'One application, by id or uid',
        tags,
        params: AppParams,
        response: { 200: AppView },
      },
    },
    async (req) =>
      appView(await visibleApp(deps, adminCaller(req), (req.params as Static<typeof AppParams>).app)),
  );

  api.patch(
    '/apps/:app',
    {
      ...manage,
      schema: {
        summary: 'Change an application',
        tags,
        params: AppParams,
        body: PatchApp,
        response: { 200: AppView },
      },
    },
    async (req) => {
      const body = req.body as Static<typeof PatchApp>;
      const before = await visibleApp(deps, adminCaller(req), (req.params as Static<typeof AppParams>).app);
      const after = await apps.update(
        before.id,
        {
          name: body.name,
          uid: body.uid,
          rateLimit: body.rate_limit,
          retryScheduleMs: body.retry_schedule_ms,
        },
        Date.now(),
      );
      if (after === 'conflict')
        throw new JunctionError(WebhookUidTaken, `an application with uid ${body.uid} exists`);
      if (after === undefined) throw new JunctionError(AdminNotFound, `no application ${before.id}`);
      audited(deps, req, 'webhook.app.update', after.id, { before: appView(before), after: appView(after) });
      return appView(after);
    },
  );

  api.delete(
    '/apps/:app',
    {
      ...manage,
      schema: {
        summary: 'Delete an application (soft): hidden, sent nothing, restorable until the retention ends',
        tags,
        params: AppParams,
        response: { 200: AppView },
      },
    },
    async (req) => {
      const before = await visibleApp(deps, adminCaller(req), (req.params as Static<typeof AppParams>).app);
      const after = (await apps.softDelete(before.id, Date.now())) ?? before;
      audited(deps, req, 'webhook.app.delete', after.id, { before: appView(before), after: appView(after) });
      return appView(after);
    },
  );

  api.post(
    '/apps/:app/restore',
    {
      ...manage,
      schema: {
        summary: 'Restore a deleted application (by id) within the retention period',
        tags,
        params: AppParams,
        response: { 200: AppView },
      },
    },
    async (req) => {
      const { app: ref } = req.params as Static<typeof AppParams>;
      const caller = adminCaller(req);
      const before = await visibleApp(deps, caller, ref, { deleted: true });
      if (before.deletedAt === null) return appView(before);
      const now = Date.now();
      const after = await apps.restore(before.id, now - settingsOf(deps).deletedRetentionMs, now);
      if (after === 'conflict') {
        throw new JunctionError(WebhookNotRestorable, `another live application has uid ${before.uid}`);
      }
      if (after === undefined) throw new JunctionError(WebhookNotRestorable, 'past the retention period');
      audited(deps, req, 'webhook.app.restore', after.id, { before: appView(before), after: appView(after) });
      return appView(after);
    },
  );
}
