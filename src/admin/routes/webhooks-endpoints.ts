/**
 * Outbound webhook endpoints of an application (issue #7): create (the URL checked against private
 * addresses, Q-SSRF), list, read, update, soft delete and restore (Q48), and the signing secret: read
 * it, rotate it with a grace period during which the old key signs too. Admins manage, viewers read
 * everything but the secret.
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import type { WebhookEndpoint } from '../../store/index.ts';
import type { WebhookSettings } from '../../webhooks/index.ts';
import {
  checkEndpointUrl,
  EndpointView,
  endpointView,
  generateSecret,
  generateSigningKey,
  isWebhookSecret,
  MAX_ROTATION_GRACE_MS,
  SecretView,
  secretBoxOf,
  secretView,
  WebhookNotRestorable,
  WebhookUidTaken,
} from '../../webhooks/index.ts';
import { adminCaller, requireRole } from '../auth.ts';
import { AdminNotFound, AdminValidation } from '../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';
import {
  AppParams,
  audited,
  Nullable,
  RetrySchedule,
  settingsOf,
  Uid,
  visibleApp,
  type WebhooksAdmin,
} from './webhooks-common.ts';

const EndpointParams = Type.Object({
  app: AppParams.properties.app,
  endpoint: Type.String({ pattern: '^ep_[0-9A-Z]{13}$' }),
});
const Names = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 256 });
const Headers = Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { maxProperties: 32 });
/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
// Junction's own and the signature's headers cannot be overridden (src/events/destinations/http.ts).
const RESERVED = /^(?:webhook-|x-junction-|content-|host$|user-agent$)/i;
const RateLimit = Type.Integer({ minimum: 1, maximum: 100_000, description: 'Deliveries per second' });
const MaxConcurrency = Type.Integer({
  minimum: 1,
  maximum: 1_000,
  description: 'Attempts in flight at once',
});
const Ed25519 = Type.Boolean({
  description:
    'Sign with an Ed25519 key too (v1a; the public key is in GET …/secret). true on an endpoint that has one keeps it; false drops it',
});
const Fields = {
  url: Type.String({ minLength: 1, maxLength: 2048 }),
  description: Type.String({ maxLength: 1024 }),
  filter_types: Nullable(Names),
  channels: Nullable(Names),
  headers: Headers,
  disabled: Type.Boolean(),
  rate_limit: Nullable(RateLimit),
  max_concurrency: Nullable(MaxConcurrency),
  retry_schedule_ms: Nullable(RetrySchedule),
  ed25519: Ed25519,
};
const CreateEndpoint = Type.Object(
  {
    url: Fields.url,
    uid: Type.Optional(Uid),
    description: Type.Optional(Fields.description),
    filter_types: Type.Optional(Fields.filter_types),
    channels: Type.Optional(Fields.channels),
    headers: Type.Optional(Fields.headers),
    disabled: Type.Optional(Fields.disabled),
    rate_limit: Type.Optional(Fields.rate_limit),
    max_concurrency: Type.Optional(Fields.max_concurrency),
    retry_schedule_ms: Type.Optional(Fields.retry_schedule_ms),
    ed25519: Type.Optional(Fields.ed25519),
    secret: Type.Optional(Type.String({ description: 'A whsec_ secret; generated when absent' })),
  },
  { additionalProperties: false },
);
const PatchEndpoint = Type.Object(
  {
    url: Type.Optional(Fields.url),
    description: Type.Optional(Fields.description),
    filter_types: Type.Optional(Fields.filter_types),
    channels: Type.Optional(Fields.channels),
    headers: Type.Optional(Fields.headers),
    disabled: Type.Optional(Fields.disabled),
    rate_limit: Type.Optional(Fields.rate_limit),
    max_concurrency: Type.Optional(Fields.max_concurrency),
    retry_schedule_ms: Type.Optional(Fields.retry_schedule_ms),
    ed25519: Type.Optional(Fields.ed25519),
  },
  { additionalProperties: false },
);
const Rotate = Type.Object(
  {
    key: Type.Optional(Type.String({ description: 'The new whsec_ secret; generated when absent' })),
    grace_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_ROTATION_GRACE_MS,
        description: 'How long the old key keeps signing',
      }),
    ),
  },
  { additionalProperties: false },
);

function checkHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name))
      throw new JunctionError(AdminValidation, `header ${name} is not a valid field name`);
    if (RESERVED.test(name)) throw new JunctionError(AdminValidation, `header ${name} is set by Junction`);
    if (/[\r\n\0]/.test(value)) throw new JunctionError(AdminValidation, `header ${name} has a line break`);
    out[name.toLowerCase()] = value;
  }
  return out;
}

function checkSecret(secret: string): string {
  if (!isWebhookSecret(secret)) {
    throw new JunctionError(AdminValidation, 'a secret is whsec_ followed by base64 of 24 to 64 bytes');
  }
  return secret;
}

/** `ed25519` of a patch: true adds a key unless there is one, false removes it, absent keeps it. */
function signingKeyPatch(
  ed25519: boolean | undefined,
  before: WebhookEndpoint,
  settings: WebhookSettings,
): string | null | undefined {
  if (ed25519 === undefined || ed25519 === (before.signingKey !== null)) return undefined;
  return ed25519 ? secretBoxOf(settings).seal(generateSigningKey(), before.id, 'signing_key') : null;
}

export function registerWebhookEndpointRoutes(api: FastifyInstance, deps: WebhooksAdmin): void {
  const tags = ['webhooks'];
  const read = requireRole('viewer', { tenantScoped: true });
  const manage = requireRole('admin', { tenantScoped: true });
  const endpoints = deps.store.webhooks.endpoints;

  const visible = async (req: Parameters<typeof adminCaller>[0], deleted = false) => {
    const p = req.params as Static<typeof EndpointParams>;
    const app = await visibleApp(deps, adminCaller(req), p.app);
    const ep = await endpoints.get(app.id, p.endpoint, { deleted });
    if (ep === undefined) throw new JunctionError(AdminNotFound, `no endpoint ${p.endpoint}`);
    return ep;
  };

  api.post(
    '/apps/:app/endpoints',
    {
      ...manage,
      schema: {
        summary: 'Add an endpoint',
        tags,
        params: AppParams,
        body: CreateEndpoint,
        response: { 201: EndpointView },
      },
    },
    async (req, reply) => {
      const body = req.body as Static<typeof CreateEndpoint>;
      const app = await visibleApp(deps, adminCaller(req), (req.params as Static<typeof AppParams>).app);
      const settings = settingsOf(deps);
      const url = await checkEndpointUrl(body.url, settings);
      const box = secretBoxOf(settings);
      const id = deps.services.ids.next('ep');
      const secret = body.secret === undefined ? generateSecret() : checkSecret(body.secret);
      const ep = await endpoints.create({
        id,
        appId: app.id,
        uid: body.uid ?? null,
        url,
        description: body.description,
        filterTypes: body.filter_types,
        channels: body.channels,
        headers: checkHeaders(body.headers),
        secret: box.seal(secret, id, 'secret'),
        signingKey: body.ed25519 === true ? box.seal(generateSigningKey(), id, 'signing_key') : null,
        disabled: body.disabled,
        rateLimit: body.rate_limit,
        maxConcurrency: body.max_concurrency,
        retryScheduleMs: body.retry_schedule_ms,
        now: Date.now(),
      });
      if (ep === undefined)
        throw new JunctionError(WebhookUidTaken, `an endpoint with uid ${body.uid} exists`);
      audited(deps, req, 'webhook.endpoint.create', ep.id, { after: endpointView(ep) });
      return reply.code(201).send(endpointView(ep));
    },
  );

  api.get(
    '/apps/:app/endpoints',
    {
      ...read,
      schema: {
        summary: 'Endpoints, newest first',
        tags,
        params: AppParams,
        querystring: PageQuery,
        response: { 200: pageSchema(EndpointView) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof PageQuery>;
      const app = await visibleApp(deps, adminCaller(req), (req.params as Static<typeof AppParams>).app);
      const kind = `webhook_endpoints:${app.id}`;
      const page = await endpoints.list(app.id, {
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor(kind, q.cursor),
      });
      return toPage(kind, page.items.map(endpointView), page.next);
    },
  );

  api.get(
    '/apps/:app/endpoints/:endpoint',
    {
      ...read,
      schema: { summary: 'One endpoint', tags, params: EndpointParams, response: { 200: EndpointView } },
    },
    async (req) => endpointView(await visible(req)),
  );

  api.patch(
    '/apps/:app/endpoints/:endpoint',
    {
      ...manage,
      schema: {
        summary: 'Change an endpoint',
        tags,
        params: EndpointParams,
        body: PatchEndpoint,
        response: { 200: EndpointView },
      },
    },
    async (req) => {
      const body = req.body as Static<typeof PatchEndpoint>;
      const before = await visible(req);
      const url = body.url === undefined ? undefined : await checkEndpointUrl(body.url, settingsOf(deps));
      const after = await endpoints.update(
        before.appId,
        before.id,
        {
          url,
          description: body.description,
          filterTypes: body.filter_types,
          channels: body.channels,
          headers: checkHeaders(body.headers),
          disabled: body.disabled,
          rateLimit: body.rate_limit,
          maxConcurrency: body.max_concurrency,
          retryScheduleMs: body.retry_schedule_ms,
          signingKey: signingKeyPatch(body.ed25519, before, settingsOf(deps)),
        },
        Date.now(),
      );
      if (after === undefined) throw new JunctionError(AdminNotFound, `no endpoint ${before.id}`);
      audited(deps, req, 'webhook.endpoint.update', after.id, {
        before: endpointView(before),
        after: endpointView(after),
      });
      return endpointView(after);
    },
  );

  api.delete(
    '/apps/:app/endpoints/:endpoint',
    {
      ...manage,
      schema: {
        summary: 'Delete an endpoint (soft): hidden, sent nothing new, restorable until the retention ends',
        tags,
        params: EndpointParams,
        response: { 200: EndpointView },
      },
    },
    async (req) => {
      const before = await visible(req);
      const after = (await endpoints.softDelete(before.appId, before.id, Date.now())) ?? before;
      audited(deps, req, 'webhook.endpoint.delete', after.id, {
        before: endpointView(before),
        after: endpointView(after),
      });
      return endpointView(after);
    },
  );

  api.post(
    '/apps/:app/endpoints/:endpoint/restore',
    {
      ...manage,
      schema: {
        summary: 'Restore a deleted endpoint within the retention period',
        tags,
        params: EndpointParams,
        response: { 200: EndpointView },
      },
    },
    async (req) => {
      const before = await visible(req, true);
      if (before.deletedAt === null) return endpointView(before);
      const now = Date.now();
      const after = await endpoints.restore(
        before.appId,
        before.id,
        now - settingsOf(deps).deletedRetentionMs,
        now,
      );
      if (after === 'conflict')
        throw new JunctionError(WebhookNotRestorable, `another live endpoint has uid ${before.uid}`);
      if (after === undefined) throw new JunctionError(WebhookNotRestorable, 'past the retention period');
      audited(deps, req, 'webhook.endpoint.restore', after.id, {
        before: endpointView(before),
        after: endpointView(after),
      });
      return endpointView(after);
    },
  );

  api.get(
    '/apps/:app/endpoints/:endpoint/secret',
    {
      ...manage,
      schema: {
        summary: "The endpoint's signing secret(s)",
        tags,
        params: EndpointParams,
        response: { 200: SecretView },
      },
    },
    async (req, reply) =>
      reply
        .header('cache-control', 'no-store')
        .send(secretView(await visible(req), Date.now(), secretBoxOf(settingsOf(deps)))),
  );

  api.post(
    '/apps/:app/endpoints/:endpoint/secret/rotate',
    {
      ...manage,
      schema: {
        summary:
          'Rotate the signing secret; the old one keeps signing for grace_ms (default 24 h, at most 7 days)',
        tags,
        params: EndpointParams,
        body: Rotate,
        response: { 200: SecretView },
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as Static<typeof Rotate>;
      const before = await visible(req);
      const now = Date.now();
      const settings = settingsOf(deps);
      const box = secretBoxOf(settings);
      const key = body.key === undefined ? generateSecret() : checkSecret(body.key);
      const grace = body.grace_ms ?? settings.rotationGraceMs;
      const sealed = box.seal(key, before.id, 'secret');
      const after = await endpoints.rotateSecret(before.appId, before.id, sealed, grace, now);
      if (after === undefined) throw new JunctionError(AdminNotFound, `no endpoint ${before.id}`);
      // Never the keys themselves in the audit log.
      audited(deps, req, 'webhook.endpoint.rotate-secret', after.id, { after: { grace_ms: grace } });
      return reply.header('cache-control', 'no-store').send(secretView(after, now, box));
    },
  );
}
