/**
 * Dead letters and recovery of outbound webhooks (issue #7, Q40; src/webhooks/recovery.ts): an
 * endpoint's dead letters (cursor pages, newest first), recover an endpoint since a time, recover an
 * application's dead letters by filter, resend one message to one endpoint. Viewers read, operators
 * recover and resend (the same people who send). Every change is audited
 * (`webhook.endpoint.recover`, `webhook.app.recover`, `webhook.message.resend`).
 *
 * Recovery runs in pages of 500 inside the request and answers how many dead letters it set pending
 * again; they are due at once, so a running gateway delivers them on its next claim. `junction
 * webhooks recover` does the same with a progress bar, for sets too large to wait on over HTTP.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import {
  DeadLetterView,
  deadLetterView,
  RecoveredView,
  ResentView,
  recoverDeadLetters,
  recoveryEndpoints,
  resendMessage,
} from '../../webhooks/index.ts';
import { adminCaller, requireRole } from '../auth.ts';
import { AdminNotFound, AdminValidation } from '../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';
import { AppParams, audited, visibleApp, type WebhooksAdmin } from './webhooks-common.ts';

const Id = (prefix: string) => Type.String({ pattern: `^${prefix}_[0-9A-Z]{13}$` });
const EndpointParams = Type.Object({ app: AppParams.properties.app, endpoint: Id('ep') });
const MessageParams = Type.Object({ app: AppParams.properties.app, message: Id('msg') });
const When = (what: string) => Type.String({ format: 'date-time', description: what });
const RecoverEndpoint = Type.Object(
  {
    since: When('Messages sent at or after this time (RFC 3339); no limit on how far back'),
    until: Type.Optional(When('Messages sent before this time (RFC 3339)')),
  },
  { additionalProperties: false },
);
const Names = (maxItems: number) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems });
const RecoverApp = Type.Object(
  {
    endpoint_ids: Type.Optional(
      Type.Array(Id('ep'), { minItems: 1, maxItems: 250, description: 'Absent: every enabled endpoint' }),
    ),
    event_types: Type.Optional(Names(256)),
    since: Type.Optional(When('Messages sent at or after this time (RFC 3339)')),
    until: Type.Optional(When('Messages sent before this time (RFC 3339)')),
  },
  { additionalProperties: false, description: 'Which dead letters to recover; an empty object: all' },
);
const Resend = Type.Object({ endpoint_id: Id('ep') }, { additionalProperties: false });

/** `since`/`until` as epoch ms; `since` must come before `until`. */
function range(body: { since?: string; until?: string }): { since?: number; until?: number } {
  const since = body.since === undefined ? undefined : Date.parse(body.since);
  const until = body.until === undefined ? undefined : Date.parse(body.until);
  if (since !== undefined && until !== undefined && since >= until) {
    throw new JunctionError(AdminValidation, 'since must be before until');
  }
  return { since, until };
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function registerWebhookRecoveryRoutes(api: FastifyInstance, deps: WebhooksAdmin): void {
  const tags = ['webhooks'];
  const read = requireRole('viewer', { tenantScoped: true });
  const operate = requireRole('operator', { tenantScoped: true });
  const { store } = deps;

  /** The live endpoint the path names, of an application the caller may see; otherwise a 404. */
  const visibleEndpoint = async (req: FastifyRequest) => {
    const p = req.params as Static<typeof EndpointParams>;
    const app = await visibleApp(deps, adminCaller(req), p.app);
    const ep = await store.webhooks.endpoints.get(app.id, p.endpoint);
    if (ep === undefined) throw new JunctionError(AdminNotFound, `no endpoint ${p.endpoint}`);
    return { app, ep };
  };

  api.get(
    '/apps/:app/endpoints/:endpoint/dead',
    {
      ...read,
      schema: {
        summary: "The endpoint's dead letters, newest first: messages whose retries ran out or were refused",
        tags,
        params: EndpointParams,
        querystring: PageQuery,
        response: { 200: pageSchema(DeadLetterView) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof PageQuery>;
      const { ep } = await visibleEndpoint(req);
      const kind = `webhook_dead:${ep.id}`;
      const page = await store.webhooks.recovery.listDead(ep.id, {
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor(kind, q.cursor),
      });
      return toPage(kind, page.items.map(deadLetterView), page.next);
    },
  );

  api.post(
    '/apps/:app/endpoints/:endpoint/recover',
    {
      ...operate,
      schema: {
        summary: "Send the endpoint's dead letters since a time again (due now, attempts from zero)",
        tags,
        params: EndpointParams,
        body: RecoverEndpoint,
        response: { 200: RecoveredView },
      },
    },
    async (req) => {
      const { since, until } = range(req.body as Static<typeof RecoverEndpoint>);
      const { app, ep } = await visibleEndpoint(req);
      const endpoints = await recoveryEndpoints(store, app.id, [ep.id]);
      const { recovered, scanned } = await recoverDeadLetters(store, endpoints, { since, until });
      audited(deps, req, 'webhook.endpoint.recover', ep.id, {
        after: { app_id: app.id, since: iso(since), until: iso(until), scanned, recovered },
      });
      return { recovered };
    },
  );

  api.post(
    '/apps/:app/recover',
    {
      ...operate,
      schema: {
        summary: "Send the application's dead letters matching a filter again (bulk retry)",
        tags,
        params: AppParams,
        body: RecoverApp,
        response: { 200: RecoveredView },
      },
    },
    async (req) => {
      const body = (req.body ?? {}) as Static<typeof RecoverApp>;
      const { since, until } = range(body);
      const app = await visibleApp(deps, adminCaller(req), (req.params as Static<typeof AppParams>).app);
      const endpoints = await recoveryEndpoints(store, app.id, body.endpoint_ids);
      const { recovered, scanned } = await recoverDeadLetters(store, endpoints, {
        since,
        until,
        eventTypes: body.event_types,
      });
      audited(deps, req, 'webhook.app.recover', app.id, {
        after: {
          endpoint_ids: endpoints.map((e) => e.id),
          event_types: body.event_types,
          since: iso(since),
          until: iso(until),
          scanned,
          recovered,
        },
      });
      return { recovered };
    },
  );

  api.post(
    '/apps/:app/messages/:message/resend',
    {
      ...operate,
      schema: {
        summary:
          'Send one message to one endpoint again, whatever its delivery became, or for the first time',
        tags,
        params: MessageParams,
        body: Resend,
        response: { 202: ResentView },
      },
    },
    async (req, reply) => {
      const p = req.params as Static<typeof MessageParams>;
      const { endpoint_id } = req.body as Static<typeof Resend>;
      const app = await visibleApp(deps, adminCaller(req), p.app);
      const resent = await resendMessage(store, deps.services.ids, app.id, p.message, endpoint_id);
      if (resent === undefined) throw new JunctionError(AdminNotFound, `no message ${p.message}`);
      audited(deps, req, 'webhook.message.resend', p.message, { after: { app_id: app.id, ...resent } });
      return reply.code(202).send(resent);
    },
  );
}
