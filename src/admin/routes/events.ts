/**
 * The event log and the dead letter queue (issue #6; Q24, Q40, docs/events.md "Delivery and dead
 * letters"): list and read events with their deliveries, list dead letters, replay one or many,
 * discard one. Viewers read; operators replay and discard. Every change is in the audit log. Replayed
 * deliveries are due at once: the delivery workers take them on their next claim.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import type { Services } from '../../core/services.ts';
import { DeliveryNotDead } from '../../events/delivery-errors.ts';
import { type DeliveryView, deliveryView, eventView } from '../../events/views.ts';
import type { Delivery, Store } from '../../store/index.ts';
import { actorOf, adminCaller, requireRole } from '../auth.ts';
import { AdminNotFound } from '../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';

export interface EventsAdmin {
  store: Store;
  services: Services;
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Name = Type.String({ minLength: 1, maxLength: 256 });
const When = (what: string) => Type.Optional(Type.String({ format: 'date-time', description: what }));
const Range = {
  from: When('Arrived at or after (RFC 3339)'),
  to: When('Arrived before (RFC 3339)'),
};

const EventSummary = Type.Object({
  id: Type.String(),
  source: Type.String(),
  type: Type.String(),
  external_id: Nullable(Type.String()),
  received_at: Type.String({ format: 'date-time' }),
  size: Type.Integer({ description: 'Payload bytes' }),
});
const DeliveryViewSchema = Type.Object({
  id: Type.String(),
  event_id: Type.String(),
  subscription: Type.String(),
  status: Type.Union(['pending', 'leased', 'done', 'dead'].map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Type.String({ format: 'date-time' })),
  last_error: Nullable(Type.String({ description: '`<code>: <detail>` of the last failed attempt' })),
  last_status: Nullable(Type.Integer()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
const EventDetail = Type.Object({
  id: Type.String(),
  source: Type.String(),
  type: Type.String(),
  external_id: Nullable(Type.String()),
  received_at: Type.String({ format: 'date-time' }),
  headers: Type.Record(Type.String(), Type.String()),
  payload_encoding: Type.Union([Type.Literal('utf8'), Type.Literal('base64')]),
  payload: Type.String({ description: 'The body as received: text if UTF-8, else base64' }),
  deliveries: Type.Array(DeliveryViewSchema),
});

const EventsQuery = Type.Object(
  { ...PageQuery.properties, source: Type.Optional(Name), type: Type.Optional(Name), ...Range },
  { additionalProperties: false },
);
const DeadQuery = Type.Object(
  { ...PageQuery.properties, subscription: Type.Optional(Name), ...Range },
  { additionalProperties: false },
);
const ReplayFilter = Type.Object(
  { subscription: Type.Optional(Name), ...Range },
  {
    additionalProperties: false,
    description: 'Which dead letters to replay; an empty object replays them all',
  },
);
const EventParams = Type.Object({ id: Type.String({ pattern: '^evt_[0-9A-Z]{13}$' }) });
const DeliveryParams = Type.Object({ id: Type.String({ pattern: '^dlv_[0-9A-Z]{13}$' }) });
const Replayed = Type.Object({ replayed: Type.Integer({ description: 'Dead letters set pending again' }) });

const time = (value: string | undefined) => (value === undefined ? undefined : Date.parse(value));

export function registerEventRoutes(api: FastifyInstance, deps: EventsAdmin): void {
  const tags = ['events'];
  const read = requireRole('viewer');
  const operate = requireRole('operator');

  const audited = (
    req: FastifyRequest,
    action: string,
    resource: string,
    before?: unknown,
    after?: unknown,
  ) =>
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

  /** The delivery if it is dead; 404 if there is none, 409 `delivery_not_dead` otherwise. */
  const deadLetter = async (id: string): Promise<Delivery> => {
    const d = await deps.store.deliveries.get(id);
    if (d === undefined) throw new JunctionError(AdminNotFound, `no delivery ${id}`);
    if (d.status !== 'dead')
      throw new JunctionError(DeliveryNotDead, `delivery ${id} is ${d.status}, not dead`);
    return d;
  };

  api.get(
    '/events',
    {
      ...read,
      schema: {
        summary: 'Stored events, newest first, filtered by source, type and arrival time',
        tags,
        querystring: EventsQuery,
        response: { 200: pageSchema(EventSummary) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof EventsQuery>;
      const page = await deps.store.events.list({
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor('events', q.cursor),
        source: q.source,
        type: q.type,
        from: time(q.from),
        to: time(q.to),
      });
      const items = page.items.map((e) => {
        const { headers: _h, payload: _p, payload_encoding: _e, ...summary } = eventView(e);
        return { ...summary, size: e.payload.length };
      });
      return toPage('events', items, page.next);
    },
  );

  api.get(
    '/events/:id',
    {
      ...read,
      schema: {
        summary: 'One event, its payload and its deliveries',
        tags,
        params: EventParams,
        response: { 200: EventDetail },
      },
    },
    async (req) => {
      const { id } = req.params as Static<typeof EventParams>;
      const event = await deps.store.events.get(id);
      if (event === undefined) throw new JunctionError(AdminNotFound, `no event ${id}`);
      const deliveries = await deps.store.deliveries.forEvent(id);
      return { ...eventView(event), deliveries: deliveries.map(deliveryView) };
    },
  );

  api.get(
    '/deliveries/dead',
    {
      ...read,
      schema: {
        summary: 'The dead letter queue, newest first, filtered by subscription and arrival time',
        tags,
        querystring: DeadQuery,
        response: { 200: pageSchema(DeliveryViewSchema) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof DeadQuery>;
      const page = await deps.store.deliveries.listDead({
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor('dead_deliveries', q.cursor),
        subscription: q.subscription,
        from: time(q.from),
        to: time(q.to),
      });
      return toPage('dead_deliveries', page.items.map(deliveryView), page.next);
    },
  );

  api.post(
    '/deliveries/:id/replay',
    {
      ...operate,
      schema: {
        summary: 'Send a dead letter again: pending now, attempts from zero',
        tags,
        params: DeliveryParams,
        response: { 200: DeliveryViewSchema },
      },
    },
    async (req) => {
      const { id } = req.params as Static<typeof DeliveryParams>;
      const before = await deadLetter(id);
      if (!(await deps.store.deliveries.replay(id))) await deadLetter(id); // replayed meanwhile: say so
      const after = (await deps.store.deliveries.get(id))!;
      audited(req, 'admin.delivery.replay', id, deliveryView(before), deliveryView(after));
      return deliveryView(after);
    },
  );

  api.post(
    '/deliveries/replay',
    {
      ...operate,
      schema: {
        summary: 'Replay every dead letter the filter matches; answers how many',
        tags,
        body: ReplayFilter,
        response: { 200: Replayed },
      },
    },
    async (req) => {
      const body = (req.body ?? {}) as Static<typeof ReplayFilter>;
      const filter = { subscription: body.subscription, from: time(body.from), to: time(body.to) };
      const replayed = await deps.store.deliveries.replayMany(filter);
      audited(req, 'admin.delivery.replay_many', body.subscription ?? '*', undefined, { ...body, replayed });
      return { replayed };
    },
  );

  api.delete(
    '/deliveries/:id',
    {
      ...operate,
      schema: {
        summary: 'Discard a dead letter (its event stays in the log)',
        tags,
        params: DeliveryParams,
        response: { 200: DeliveryViewSchema },
      },
    },
    async (req) => {
      const { id } = req.params as Static<typeof DeliveryParams>;
      const before = await deadLetter(id);
      if (!(await deps.store.deliveries.discard(id))) await deadLetter(id);
      const view: DeliveryView = deliveryView(before);
      audited(req, 'admin.delivery.discard', id, view);
      return view;
    },
  );
}
