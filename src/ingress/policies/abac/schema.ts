/**
 * The config of `auth.abac`: TypeBox schema first (STYLE.md §4). The Cedar text itself is parsed
 * (and validated against a Cedar schema, when one is given) when the route compiles (cedar.ts).
 */
import Type, { type Static } from 'typebox';

/** A Cedar entity type name, namespaces allowed (`Docs::Document`). */
const CedarName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$' });
const entityOf = Type.Optional(
  Type.String({
    pattern: '^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$',
    description:
      'Make the value an entity of this type (`User`), so a policy can say `resource.owner == principal`',
  }),
);

/** Where a request value comes from; every source is a string except `value`. */
export const SourceSchema = Type.Union([
  Type.Object({ param: Type.String({ minLength: 1 }), entity: entityOf }, { additionalProperties: false }),
  Type.Object(
    { header: Type.String({ minLength: 1 }), entity: entityOf },
    {
      additionalProperties: false,
      description: 'Only headers the gateway vouches for: a client can send any',
    },
  ),
  Type.Object({ query: Type.String({ minLength: 1 }), entity: entityOf }, { additionalProperties: false }),
  Type.Object(
    { claim: Type.String({ minLength: 1 }), entity: entityOf },
    { additionalProperties: false, description: 'A claim of the principal (dotted path allowed)' },
  ),
  Type.Object(
    { value: Type.Union([Type.String(), Type.Integer(), Type.Boolean()]) },
    { additionalProperties: false },
  ),
]);
export type Source = Static<typeof SourceSchema>;

const EntityUid = Type.Object({ type: CedarName, id: Type.String() }, { additionalProperties: false });

export const abacSchema = Type.Object(
  {
    policies: Type.Optional(Type.String({ minLength: 1, description: 'Cedar policies (text)' })),
    policiesFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Path of a `.cedar` file (relative to the working directory)',
      }),
    ),
    schema: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Cedar schema (text): the policies are validated against it at load',
      }),
    ),
    schemaFile: Type.Optional(Type.String({ minLength: 1, description: 'Path of a `.cedarschema` file' })),
    entities: Type.Array(
      Type.Object(
        {
          uid: EntityUid,
          attrs: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
          parents: Type.Array(EntityUid, { default: [] }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Static entities (groups, roles with attributes) in Cedar JSON form' },
    ),
    principalType: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$',
      default: 'User',
      description: 'Entity type of `principal`; its id is the principal id',
    }),
    roleType: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$',
        description: 'When set, each role is a parent entity of this type: `principal in Role::"editor"`',
      }),
    ),
    action: Type.Object(
      {
        type: Type.String({
          pattern: '^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$',
          default: 'Action',
          description: 'Entity type of `action`',
        }),
        id: Type.Optional(Type.String({ minLength: 1, description: 'A fixed action for the route' })),
        methods: Type.Record(Type.String({ pattern: '^[A-Z]+$' }), Type.String({ minLength: 1 }), {
          default: {},
          description: 'HTTP method → action id (`PUT: edit`); other methods are their own action id',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    resource: Type.Object(
      {
        type: CedarName,
        id: Type.Optional(SourceSchema),
        attributes: Type.Record(Type.String({ minLength: 1 }), SourceSchema, {
          default: {},
          description: 'Attribute → where its value comes from; an absent value leaves the attribute out',
        }),
      },
      {
        additionalProperties: false,
        description: "The request's `resource`; its id is the path unless `id` says",
      },
    ),
    context: Type.Object(
      {
        timeZone: Type.String({
          minLength: 1,
          default: 'UTC',
          description: 'IANA time zone of `context.time` (hour, minute, weekday, date)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type AbacConfig = Static<typeof abacSchema>;
