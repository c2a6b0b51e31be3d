/**
 * Event types of outbound webhooks and their schema versions (issue #7, Q45). A catalogue shared by
 * every application: admins (not tenant-scoped) manage it, every caller reads it. Listed by page
 * number (`?page=&per_page=`, with the total): a small table an admin pages through, where numbered
 * pages and a count are worth more than keyset stability (docs/webhooks-outbound.md "Pagination").
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import {
  COMPATIBILITY_MODES,
  checkSchema,
  EventTypeView,
  eventTypeView,
  offsetPageSchema,
  registerSchema,
  SchemaVersionView,
  schemaVersionView,
  WebhookEventTypeExists,
} from '../../webhooks/index.ts';
import { requireRole } from '../auth.ts';
import { AdminNotFound } from '../errors.ts';
import { audited, type WebhooksAdmin } from './webhooks-common.ts';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$', maxLength: 256 });
const NameParams = Type.Object({ name: Name });
const VersionParams = Type.Object({ name: Name, version: Type.Integer({ minimum: 1 }) });
const Mode = Type.Union(COMPATIBILITY_MODES.map((m) => Type.Literal(m)));
const CreateType = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    schema: Type.Optional(
      Type.Unknown({ description: 'JSON Schema (draft 2020-12) of the payload: version 1' }),
    ),
  },
  { additionalProperties: false },
);
const PatchType = Type.Object(
  { description: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);
const AddSchema = Type.Object(
  {
    schema: Type.Unknown({ description: 'JSON Schema (draft 2020-12)' }),
    compatibility: Type.Optional(Mode),
  },
  { additionalProperties: false },
);
const OffsetQuery = Type.Object(
  {
    page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
    per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
  },
  { additionalProperties: false },
);

export function registerWebhookEventTypeRoutes(api: FastifyInstance, deps: WebhooksAdmin): void {
  const tags = ['webhooks'];
  const read = requireRole('viewer', { tenantScoped: true });
  const manage = requireRole('admin');
  const types = deps.store.webhooks.eventTypes;

  const live = async (name: string) => {
    const type = await types.get(name);
    if (type === undefined) throw new JunctionError(AdminNotFound, `no event type ${name}`);
    return type;
  };

  api.post(
    '/event-types',
    {
      ...manage,
      schema: {
        summary: 'Create an event type, optionally with its first schema',
        tags,
        body: CreateType,
        response: { 201: EventTypeView },
      },
    },
    async (req, reply) => {
      const body = req.body as Static<typeof CreateType>;
      if (body.schema !== undefined) checkSchema(body.schema);
      const now = Date.now();
      const created = await types.create(body.name, body.description ?? '', now);
      if (created === undefined)
        throw new JunctionError(WebhookEventTypeExists, `event type ${body.name} exists`);
      if (body.schema !== undefined)
        await registerSchema(deps.store, body.name, body.schema, 'backward', now);
      const type = await live(body.name);
      audited(deps, req, 'webhook.event-type.create', type.name, { after: eventTypeView(type) });
      return reply.code(201).send(eventTypeView(type));
    },
  );

  api.get(
    '/event-types',
    {
      ...read,
      schema: {
        summary: 'Event types by name, in numbered pages',
        tags,
        querystring: OffsetQuery,
        response: { 200: offsetPageSchema(EventTypeView) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof OffsetQuery>;
      const page = q.page ?? 1;
      const perPage = q.per_page ?? 50;
      const { items, total } = await types.list(page, perPage);
      return {
        data: items.map(eventTypeView),
        page,
        per_page: perPage,
        total,
        total_pages: Math.ceil(total / perPage),
      };
    },
  );

  api.get(
    '/event-types/:name',
    {
      ...read,
      schema: { summary: 'One event type', tags, params: NameParams, response: { 200: EventTypeView } },
    },
    async (req) => eventTypeView(await live((req.params as Static<typeof NameParams>).name)),
  );

  api.patch(
    '/event-types/:name',
    {
      ...manage,
      schema: {
        summary: "Change an event type's description",
        tags,
        params: NameParams,
        body: PatchType,
        response: { 200: EventTypeView },
      },
    },
    async (req) => {
      const { name } = req.params as Static<typeof NameParams>;
      const before = await live(name);
      const after = await types.update(name, (req.body as Static<typeof PatchType>).description, Date.now());
      if (after === undefined) throw new JunctionError(AdminNotFound, `no event type ${name}`);
      audited(deps, req, 'webhook.event-type.update', name, {
        before: eventTypeView(before),
        after: eventTypeView(after),
      });
      return eventTypeView(after);
    },
  );

  api.delete(
    '/event-types/:name',
    {
      ...manage,
      schema: {
        summary:
          'Archive an event type: no new messages of it; creating it again brings it back with its schemas',
        tags,
        params: NameParams,
        response: { 200: EventTypeView },
      },
    },
    async (req) => {
      const { name } = req.params as Static<typeof NameParams>;
      const before = await live(name);
      const after = await types.archive(name, Date.now());
      if (after === undefined) throw new JunctionError(AdminNotFound, `no event type ${name}`);
      audited(deps, req, 'webhook.event-type.archive', name, {
        before: eventTypeView(before),
        after: eventTypeView(after),
      });
      return eventTypeView(after);
    },
  );

  api.post(
    '/event-types/:name/schemas',
    {
      ...manage,
      schema: {
        summary:
          'Register the next schema version, checked against the current one (compatibility: backward by default, forward, full, none)',
        tags,
        params: NameParams,
        body: AddSchema,
        response: { 201: SchemaVersionView },
      },
    },
    async (req, reply) => {
      const { name } = req.params as Static<typeof NameParams>;
      const body = req.body as Static<typeof AddSchema>;
      const added = await registerSchema(deps.store, name, body.schema, body.compatibility ?? 'backward');
      if (added === undefined) throw new JunctionError(AdminNotFound, `no event type ${name}`);
      audited(deps, req, 'webhook.event-type.schema', `${name}@${added.version}`, {
        after: { version: added.version, compatibility: added.compatibility },
      });
      return reply.code(201).send(schemaVersionView(added));
    },
  );

  api.get(
    '/event-types/:name/schemas',
    {
      ...read,
      schema: {
        summary: 'Every schema version, oldest first',
        tags,
        params: NameParams,
        response: { 200: Type.Array(SchemaVersionView) },
      },
    },
    async (req) => {
      const { name } = req.params as Static<typeof NameParams>;
      await live(name);
      return (await types.schemas(name)).map(schemaVersionView);
    },
  );

  api.get(
    '/event-types/:name/schemas/:version',
    {
      ...read,
      schema: {
        summary: 'One schema version',
        tags,
        params: VersionParams,
        response: { 200: SchemaVersionView },
      },
    },
    async (req) => {
      const { name, version } = req.params as Static<typeof VersionParams>;
      const found = await types.schema(name, version);
      if (found === undefined) throw new JunctionError(AdminNotFound, `no version ${version} of ${name}`);
      return schemaVersionView(found);
    },
  );
}
