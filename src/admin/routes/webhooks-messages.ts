/**
 * Sending and reading outbound webhook messages (issue #7) and the attempt log (Q14: cursor pages).
 *
 * `POST /apps/{app}/messages` validates the payload against the event type's current schema, stores
 * the message and queues it for every enabled, live endpoint whose filter matches, in one transaction,
 * then answers 202: the message is on disk before the answer. Two ways to send once:
 * - `eventId` in the body: unique per application, for ever (until purged). A second send with it
 *   stores nothing and answers 200 with the first message (`duplicate: true`).
 * - `Idempotency-Key` header (Stripe's semantics, on the store's idempotency repository that
 *   `core.idempotency` uses): the first answer is stored for `idempotencyTtlMs` (24 h) and replayed
 *   with `Idempotent-Replayed: true`; the same key with another body is 422, while the first is still
 *   running 409. Keys are scoped by caller, so two callers never share one.
 * Operators send; viewers read.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import type { IdempotencyRef } from '../../store/index.ts';
import {
  AttemptView,
  attemptView,
  MessageDetailView,
  MessageView,
  messageDetailView,
  messageView,
  SentView as SentSchema,
  type SentView,
  sendMessage,
  WebhookIdempotencyKeyInUse,
  WebhookIdempotencyKeyMismatch,
} from '../../webhooks/index.ts';
import { type AdminCaller, adminCaller, requireRole } from '../auth.ts';
import { AdminNotFound, AdminValidation } from '../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';
import { AppParams, audited, settingsOf, visibleApp, type WebhooksAdmin } from './webhooks-common.ts';

const Send = Type.Object(
  {
    event_type: Type.String({ minLength: 1, maxLength: 256 }),
    payload: Type.Unknown({ description: 'JSON, validated against the event type schema' }),
    event_id: Type.Optional(Type.String({ pattern: '^[\\x21-\\x7e]{1,256}$' })),
    channels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10 })),
  },
  { additionalProperties: false },
);
const MessageParams = Type.Object({
  app: AppParams.properties.app,
  message: Type.String({ pattern: '^msg_[0-9A-Z]{13}$' }),
});
const ListMessages = Type.Object(
  { ...PageQuery.properties, event_type: Type.Optional(Type.String({ maxLength: 256 })) },
  { additionalProperties: false },
);
const Id = (prefix: string) => Type.String({ pattern: `^${prefix}_[0-9A-Z]{13}$` });
const ListAttempts = Type.Object(
  { ...PageQuery.properties, message_id: Type.Optional(Id('msg')), endpoint_id: Type.Optional(Id('ep')) },
  { additionalProperties: false },
);

const REPLAYED = 'idempotent-replayed';
const LEASE_MS = 30_000;

/** The Idempotency-Key, if sent: 1..255 printable ASCII, a bare key or an RFC 8941 string. */
function idempotencyKey(req: FastifyRequest): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? undefined : raw.replace(/^"(.*)"$/, '$1');
  if (value === undefined || !/^[\x20-\x7e]{1,255}$/.test(value)) {
    throw new JunctionError(
      AdminValidation,
      'Idempotency-Key must be one field of 1 to 255 printable ASCII characters',
    );
  }
  return value;
}

function scopeOf(caller: AdminCaller): string {
  return `admin:${caller.kind}:${caller.name}`;
}

export function registerWebhookMessageRoutes(api: FastifyInstance, deps: WebhooksAdmin): void {
  const tags = ['webhooks'];
  const read = requireRole('viewer', { tenantScoped: true });
  const { store } = deps;

  async function send(req: FastifyRequest, appRef: string): Promise<{ status: 200 | 202; body: SentView }> {
    const body = req.body as Static<typeof Send>;
    const app = await visibleApp(deps, adminCaller(req), appRef);
    const result = await sendMessage(
      store,
      deps.services.ids,
      app.id,
      { eventType: body.event_type, payload: body.payload, eventId: body.event_id, channels: body.channels },
      settingsOf(deps),
    );
    if ('appGone' in result) throw new JunctionError(AdminNotFound, `no application ${appRef}`);
    const view = messageView(result.message);
    if (result.duplicate) return { status: 200, body: { ...view, duplicate: true, endpoints: 0 } };
    audited(deps, req, 'webhook.message.send', result.message.id, {
      after: {
        app_id: app.id,
        event_type: view.event_type,
        event_id: view.event_id,
        endpoints: result.endpoints,
      },
    });
    if (result.endpoints.length > 0) deps.onMessageSent?.();
    return { status: 202, body: { ...view, duplicate: false, endpoints: result.endpoints.length } };
  }

  async function idempotent(req: FastifyRequest, reply: FastifyReply, appRef: string, key: string) {
    const settings = settingsOf(deps);
    const ref: IdempotencyRef = { scope: scopeOf(adminCaller(req)), route: 'webhooks.messages.send', key };
    const fingerprint = createHash('sha256')
      .update(`${appRef}\n${JSON.stringify(req.body)}`)
      .digest('base64url');
    const now = Date.now();
    const begun = await store.idempotency.begin(ref, fingerprint, {
      now,
      leaseMs: LEASE_MS,
      ttlMs: settings.idempotencyTtlMs,
    });
    if (begun.outcome === 'completed') {
      return reply
        .code(begun.response.status)
        .header(REPLAYED, 'true')
        .send(JSON.parse(begun.response.body.toString('utf8')));
    }
    if (begun.outcome === 'in-use') {
      throw new JunctionError(
        WebhookIdempotencyKeyInUse,
        'a send with this Idempotency-Key is running; retry',
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    if (begun.outcome === 'mismatch') {
      throw new JunctionError(
        WebhookIdempotencyKeyMismatch,
        'this Idempotency-Key was used with another application or body',
      );
    }
    let answer: { status: 200 | 202; body: SentView };
    try {
      answer = await send(req, appRef);
    } catch (err) {
      // Nothing was stored: the key is free for a corrected retry.
      await store.idempotency.release(ref, begun.token).catch(() => {});
      throw err;
    }
    const stored = {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(answer.body)),
    };
    await store.idempotency.complete(ref, begun.token, stored, {
      now: Date.now(),
      ttlMs: settings.idempotencyTtlMs,
    });
    return reply.code(answer.status).send(answer.body);
  }

  api.post(
    '/apps/:app/messages',
    {
      ...requireRole('operator', { tenantScoped: true }),
      schema: {
        summary: 'Send a message: stored and queued for every matching endpoint before the 202',
        tags,
        params: AppParams,
        body: Send,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 300 })) }),
        response: { 200: SentSchema, 202: SentSchema },
      },
    },
    async (req, reply) => {
      const { app } = req.params as Static<typeof AppParams>;
      const key = idempotencyKey(req);
      if (key !== undefined) return idempotent(req, reply, app, key);
      const answer = await send(req, app);
      return reply.code(answer.status).send(answer.body);
    },
  );

  api.get(
    '/apps/:app/messages',
    {
      ...read,
      schema: {
        summary: 'Messages, newest first',
        tags,
        params: AppParams,
        querystring: ListMessages,
        response: { 200: pageSchema(MessageView) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof ListMessages>;
      const app = await visibleApp(deps, adminCaller(req), (req.params as Static<typeof AppParams>).app);
      const kind = `webhook_messages:${app.id}:${q.event_type ?? ''}`;
      const page = await store.webhooks.messages.list(app.id, {
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor(kind, q.cursor),
        eventType: q.event_type,
      });
      return toPage(kind, page.items.map(messageView), page.next);
    },
  );

  api.get(
    '/apps/:app/messages/:message',
    {
      ...read,
      schema: {
        summary: 'One message with its delivery to each endpoint',
        tags,
        params: MessageParams,
        response: { 200: MessageDetailView },
      },
    },
    async (req) => {
      const p = req.params as Static<typeof MessageParams>;
      const app = await visibleApp(deps, adminCaller(req), p.app);
      const message = await store.webhooks.messages.get(app.id, p.message);
      if (message === undefined) throw new JunctionError(AdminNotFound, `no message ${p.message}`);
      return messageDetailView(message, await store.deliveries.forEvent(message.queueEventId));
    },
  );

  api.get(
    '/apps/:app/attempts',
    {
      ...read,
      schema: {
        summary: 'Delivery attempts, newest first, of one message or endpoint or all',
        tags,
        params: AppParams,
        querystring: ListAttempts,
        response: { 200: pageSchema(AttemptView) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof ListAttempts>;
      const app = await visibleApp(deps, adminCaller(req), (req.params as Static<typeof AppParams>).app);
      const kind = `webhook_attempts:${app.id}:${q.message_id ?? ''}:${q.endpoint_id ?? ''}`;
      const page = await store.webhooks.messages.listAttempts(app.id, {
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor(kind, q.cursor),
        messageId: q.message_id,
        endpointId: q.endpoint_id,
      });
      return toPage(kind, page.items.map(attemptView), page.next);
    },
  );
}
