/**
 * The `junction.yaml` schema (STYLE.md §4): one TypeBox schema is the TypeScript type, the compiled
 * validator, the published JSON Schema (schema/junction.schema.json, for editors) and the reference
 * in docs/configuration.md. Defaults live here; units are in the names.
 *
 * Policy configs are validated against each policy's own schema when the config compiles; the
 * generated JSON Schema lists every registered policy so editors complete those too.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { WebhookSettingsSchema } from '../webhooks/settings.ts';
import { EventsSchema } from './events-schema.ts';
import { ResilienceSchema, RouteResilienceSchema } from './resilience-schema.ts';
import { ListenerTlsSchema, UpstreamTlsSchema } from './tls-schema.ts';

const Port = Type.Integer({ minimum: 0, maximum: 65535, description: '0 picks a free port' });
const Host = Type.String({
  minLength: 1,
  default: '127.0.0.1',
  description: 'Address to bind; 0.0.0.0 or :: for all',
});
const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 64 });
const HeaderName = Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", maxLength: 256 });
const Ms = (defaultMs: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 86_400_000, default: defaultMs, description });

/** One named admin API credential (docs/auth.md "Admin API roles"). */
export const AdminTokenSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
      maxLength: 64,
      description: 'Who the token is: the actor in the audit log',
    }),
    token: Type.String({
      minLength: 16,
      maxLength: 512,
      description: 'Bearer secret, 16 characters or more; interpolate it from the environment',
    }),
    role: Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')], {
      description: 'viewer: GET only; operator: also reloads and shard assignments; admin: everything',
    }),
    tenant: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Only this tenant’s resources (API keys); global resources are refused',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AdminTokenConfig = Static<typeof AdminTokenSchema>;

/** Policies every route gets unless it turns them off. */
export const DEFAULT_POLICIES = { 'core.access-log': true, 'core.metrics': true, 'core.tracing': true };

export const ListenerSchema = Type.Object(
  {
    host: Host,
    port: Port,
  },
  { additionalProperties: false },
);

export const TargetSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^https?://[^/?#]+/?$',
      description: 'Origin of one target, e.g. http://10.0.0.5:8080',
    }),
  },
  { additionalProperties: false },
);

export const UpstreamSchema = Type.Object(
  {
    targets: Type.Array(Type.Union([Type.String({ pattern: '^https?://[^/?#]+/?$' }), TargetSchema]), {
      minItems: 1,
      description: 'Origins to balance over (see balance)',
    }),
    pool: Type.Object(
      {
        connections: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 128,
          description: 'Most sockets per target',
        }),
        keepAliveTimeoutMs: Ms(4_000, 'How long an idle socket stays open'),
        pipelining: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 1,
          description: 'Requests in flight per socket; 1 means none pipelined',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    timeouts: Type.Object(
      {
        connectMs: Ms(2_000, 'TCP (and TLS) connect; 504 when it passes'),
        firstByteMs: Ms(30_000, 'From the request sent to the response headers; 504 when it passes'),
        idleMs: Ms(60_000, 'Longest pause between two body chunks from the upstream'),
      },
      { additionalProperties: false, default: {} },
    ),
    balance: Type.Object(
      {
        strategy: Type.Union(
          [
            Type.Literal('round-robin'),
            Type.Literal('least-request'),
            Type.Literal('consistent-hash'),
            Type.Literal('sticky-cookie'),
          ],
          {
            default: 'round-robin',
            description:
              'round-robin; least-request (two random targets, the one with fewer in flight); consistent-hash (hashOn); sticky-cookie (cookie)',
          },
        ),
        hashOn: Type.Union(
          [
            Type.Object({ header: HeaderName }, { additionalProperties: false }),
            Type.Object(
              { cookie: Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", maxLength: 256 }) },
              { additionalProperties: false },
            ),
            Type.Object(
              { claim: Type.String({ minLength: 1, maxLength: 256, description: 'JWT claim name' }) },
              { additionalProperties: false },
            ),
            Type.Object({ clientIp: Type.Literal(true) }, { additionalProperties: false }),
          ],
          {
            default: { clientIp: true },
            description: 'consistent-hash key; a request without it is balanced round robin',
          },
        ),
        cookie: Type.Object(
          {
            name: Type.String({
              pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
              maxLength: 256,
              default: 'jx_affinity',
              description: 'sticky-cookie: cookie naming the target',
            }),
            maxAgeS: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 31_536_000,
                description: 'Max-Age of the cookie; without it the cookie lasts the browser session',
              }),
            ),
            secure: Type.Boolean({ default: false, description: 'Add Secure (HTTPS-only clients)' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    healthCheck: Type.Optional(
      Type.Object(
        {
          path: Type.String({ pattern: '^/', description: 'Path probed with GET on each target' }),
          intervalMs: Ms(5_000, 'Time between the end of one check and the start of the next'),
          timeoutMs: Ms(2_000, 'A check without a full response by then fails'),
          healthyThreshold: Type.Integer({
            minimum: 1,
            maximum: 100,
            default: 2,
            description: 'Passing checks in a row that bring an unhealthy target back',
          }),
          unhealthyThreshold: Type.Integer({
            minimum: 1,
            maximum: 100,
            default: 3,
            description: 'Failing checks in a row that take a target out of rotation',
          }),
          expectStatus: Type.Array(
            Type.Union([
              Type.Integer({ minimum: 100, maximum: 599 }),
              Type.String({ pattern: '^[1-5][0-9]{2}-[1-5][0-9]{2}$' }),
            ]),
            { minItems: 1, default: ['200-399'], description: 'Passing statuses: codes or inclusive ranges' },
          ),
        },
        {
          additionalProperties: false,
          description: 'Active health checks; without them targets count as healthy',
        },
      ),
    ),
    outlierDetection: Type.Optional(
      Type.Object(
        {
          consecutiveFailures: Type.Integer({
            minimum: 1,
            maximum: 1_000,
            default: 5,
            description: 'Failures in a row (no response, or 5xx) that eject a target',
          }),
          ejectionMs: Ms(30_000, 'First ejection; each repeat doubles it'),
          maxEjectionMs: Ms(300_000, 'Longest ejection'),
          maxEjectionPercent: Type.Integer({
            minimum: 0,
            maximum: 100,
            default: 50,
            description: 'Most targets ejected at once, in percent (at least one)',
          }),
        },
        { additionalProperties: false, description: 'Passive health: eject targets that keep failing' },
      ),
    ),
    resilience: Type.Optional(ResilienceSchema),
    tls: Type.Optional(UpstreamTlsSchema),
  },
  { additionalProperties: false },
);

export const VersionSchema = Type.Object(
  {
    deprecation: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'When the version was deprecated (RFC 9745 Deprecation)',
      }),
    ),
    sunset: Type.Optional(
      Type.String({ format: 'date-time', description: 'When it stops working (RFC 8594 Sunset)' }),
    ),
    successor: Type.Optional(
      Type.String({ description: 'Version that replaces it; linked as successor-version' }),
    ),
    link: Type.Optional(Type.String({ description: 'Documentation URL, linked as rel="deprecation"' })),
  },
  { additionalProperties: false },
);

export const ApiSchema = Type.Object(
  {
    /** e.g. `vnd.commerce` matches `Accept: application/vnd.commerce.v2+json`. */
    mediaType: Type.Optional(
      Type.String({ pattern: '^[a-z0-9][a-z0-9.+-]*$', description: 'Vendor media type subtype prefix' }),
    ),
    header: Type.Optional(HeaderName),
    pathPrefix: Type.Boolean({
      default: true,
      description: 'Also serve each versioned route under /v<version>',
    }),
    default: Type.Optional(
      Type.String({ description: 'Version for requests that name none; without it they get 400' }),
    ),
    versions: Type.Record(Type.String({ pattern: '^[0-9A-Za-z.-]+$' }), VersionSchema, { minProperties: 1 }),
  },
  { additionalProperties: false },
);

export const MatchSchema = Type.Object(
  {
    path: Type.String({
      pattern: '^/',
      description: 'Exact (/users), with parameters (/users/:id) or a prefix (/users/*)',
    }),
    methods: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { minItems: 1, uniqueItems: true }),
    ),
    hosts: Type.Optional(
      Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9.-]+(:[0-9]+)?$' }), {
        minItems: 1,
        uniqueItems: true,
      }),
    ),
    headers: Type.Optional(
      Type.Record(
        HeaderName,
        Type.Union([
          Type.String(),
          Type.Object({ present: Type.Boolean() }, { additionalProperties: false }),
        ]),
      ),
    ),
    version: Type.Optional(
      Type.Object(
        { api: Name, is: Type.String() },
        { additionalProperties: false, description: 'Q6 versioned route' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ProxyHandlerSchema = Type.Object(
  {
    upstream: Name,
    stripPrefix: Type.Optional(
      Type.String({ pattern: '^/', description: 'Removed from the path before forwarding' }),
    ),
    addPrefix: Type.Optional(
      Type.String({ pattern: '^/', description: 'Prepended to the path before forwarding' }),
    ),
    preserveHost: Type.Optional(
      Type.Boolean({ description: "Send the client's Host upstream instead of the target's host:port" }),
    ),
    resilience: Type.Optional(RouteResilienceSchema),
  },
  { additionalProperties: false },
);

/** Q22: a route whose requests go to one of several upstream shards chosen from a key. */
export const ShardHandlerSchema = Type.Object(
  {
    key: Type.Union(
      [
        Type.Object({ param: Type.String() }, { additionalProperties: false }),
        Type.Object({ header: HeaderName }, { additionalProperties: false }),
        Type.Object({ claim: Type.String() }, { additionalProperties: false }),
      ],
      { description: 'Where the shard key comes from: a path parameter, a header or a JWT claim' },
    ),
    strategy: Type.Union(
      [
        Type.Literal('hash'),
        Type.Literal('consistent-hash'),
        Type.Literal('range'),
        Type.Literal('directory'),
      ],
      {
        description:
          'hash: murmur3(key) % n; consistent-hash: jump hash; range: first range whose upTo ≥ key; directory: store lookup',
      },
    ),
    upstreams: Type.Optional(
      Type.Array(Name, {
        minItems: 1,
        description: 'hash and consistent-hash: the shards, in order (append to grow)',
      }),
    ),
    ranges: Type.Optional(
      Type.Array(
        Type.Object(
          {
            upTo: Type.Optional(
              Type.Union([Type.String(), Type.Number()], { description: 'Inclusive upper bound' }),
            ),
            upstream: Name,
          },
          { additionalProperties: false },
        ),
        { minItems: 1, description: 'range: in ascending order; the last may omit upTo (catch-all)' },
      ),
    ),
    directory: Type.Optional(
      Type.Object(
        {
          default: Type.Optional(Name),
          cacheMs: Type.Integer({
            minimum: 0,
            maximum: 3_600_000,
            default: 5_000,
            description: 'How long a lookup is reused',
          }),
        },
        {
          additionalProperties: false,
          description: 'directory: keys → shard in the store, edited via /admin/v1/shards',
        },
      ),
    ),
    stripPrefix: Type.Optional(Type.String({ pattern: '^/' })),
    addPrefix: Type.Optional(Type.String({ pattern: '^/' })),
    preserveHost: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const RespondHandlerSchema = Type.Object(
  {
    status: Type.Integer({ minimum: 200, maximum: 599, default: 200 }),
    headers: Type.Optional(Type.Record(HeaderName, Type.String())),
    body: Type.Optional(
      Type.Union([
        Type.String(),
        Type.Object({}, { additionalProperties: true }),
        Type.Array(Type.Unknown()),
      ]),
    ),
  },
  { additionalProperties: false },
);

export const RouteSchema = Type.Object(
  {
    name: Name,
    match: MatchSchema,
    proxy: Type.Optional(ProxyHandlerSchema),
    respond: Type.Optional(RespondHandlerSchema),
    shard: Type.Optional(ShardHandlerSchema),
    policies: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Union([Type.Boolean(), Type.Object({}, { additionalProperties: true })]),
        {
          description: 'Policy name → its config, or false to turn off a default policy',
        },
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        { maxBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    node: Type.Object(
      {
        id: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 0, maximum: 1023 })], {
          default: 'auto',
          description: 'Snowflake node id (Q35); auto leases a free one from the store',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    listeners: Type.Object(
      {
        proxy: Type.Object(
          {
            host: Host,
            port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
            tls: Type.Optional(ListenerTlsSchema),
          },
          {
            additionalProperties: false,
            default: {},
          },
        ),
        admin: Type.Object(
          { host: Host, port: Type.Integer({ minimum: 0, maximum: 65535, default: 8081 }) },
          {
            additionalProperties: false,
            default: {},
          },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    admin: Type.Object(
      {
        token: Type.Optional(
          Type.String({
            minLength: 16,
            description: 'Bearer token with the admin role; JUNCTION_ADMIN_TOKEN overrides',
          }),
        ),
        tokens: Type.Array(AdminTokenSchema, {
          default: [],
          maxItems: 256,
          description:
            'Named admin tokens with a role (docs/auth.md "Admin API roles"); read again on reload',
        }),
        apiKeys: Type.Boolean({
          default: true,
          description: 'Accept API keys with a junction:admin, junction:operator or junction:viewer role',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.Object(
      {
        url: Type.Optional(
          Type.String({ description: 'sqlite:<file> or postgres://…; JUNCTION_DATABASE_URL overrides' }),
        ),
        migrate: Type.Union([Type.Literal('auto'), Type.Literal('manual')], {
          default: 'auto',
          description: 'auto applies migrations at start; manual leaves it to junction migrate',
        }),
        sqliteSynchronous: Type.Union([Type.Literal('FULL'), Type.Literal('NORMAL')], {
          default: 'FULL',
          description:
            'SQLite: FULL syncs every commit, so what the gateway acknowledged (outbound messages, idempotency records) survives power loss; NORMAL survives a killed process only and writes faster. Inbound event sources always get FULL',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Object(
      {
        maxHeaderBytes: Type.Integer({
          minimum: 1024,
          maximum: 1_048_576,
          default: 16_384,
          description: '431 beyond',
        }),
        maxBodyBytes: Type.Integer({
          minimum: 0,
          default: 10_485_760,
          description: '413 beyond; per route too',
        }),
        headersTimeoutMs: Ms(30_000, 'Time a client has to send the request headers (slowloris)'),
        requestTimeoutMs: Ms(300_000, 'Time a client has to send the whole request'),
        keepAliveTimeoutMs: Ms(5_000, 'Idle time before a client connection is closed'),
      },
      { additionalProperties: false, default: {} },
    ),
    forwarding: Type.Object(
      {
        headers: Type.Union(
          [
            Type.Literal('forwarded'),
            Type.Literal('x-forwarded'),
            Type.Literal('both'),
            Type.Literal('none'),
          ],
          {
            default: 'x-forwarded',
            description: 'RFC 7239 Forwarded, X-Forwarded-For/-Proto/-Host, or both',
          },
        ),
        trustedProxies: Type.Array(Type.String(), {
          default: [],
          description: 'Client addresses whose forwarding headers are kept and appended to',
        }),
        via: Type.String({
          default: 'junction',
          description: 'Pseudonym in Via (RFC 9110 §7.6.3); empty to omit',
        }),
        requestIdHeader: Type.String({
          default: 'x-request-id',
          description: 'Header carrying the request id to the upstream and back to the client',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    observability: Type.Object(
      {
        logLevel: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
        serviceName: Type.String({ default: 'junction', description: 'service.name of exported spans' }),
        otlp: Type.Optional(
          Type.Object(
            {
              endpoint: Type.String({
                pattern: '^https?://',
                description: 'OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces',
              }),
              headers: Type.Optional(Type.Record(Type.String(), Type.String())),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    redis: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            pattern: '^rediss?://',
            description:
              'Shared state for a cluster (rate limits, pacing, idempotency, cache); JUNCTION_REDIS_URL overrides',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    reload: Type.Object(
      { watch: Type.Boolean({ default: true, description: 'Reload when the file changes' }) },
      { additionalProperties: false, default: {} },
    ),
    shutdown: Type.Object(
      { drainTimeoutMs: Ms(10_000, 'How long SIGTERM waits for in-flight requests') },
      { additionalProperties: false, default: {} },
    ),
    audit: Type.Object(
      {
        log: Type.Boolean({
          default: false,
          description: 'Also write each stored audit record to the log as one `audit` line (for a SIEM)',
        }),
        maxQueue: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 10_000,
          description: 'Audit records waiting to be stored; beyond, new ones are dropped and counted',
        }),
      },
      { additionalProperties: false, default: {}, description: 'The audit log (Q50); read again on reload' },
    ),
    events: EventsSchema,
    webhooks: WebhookSettingsSchema,
    defaults: Type.Object(
      {
        policies: Type.Record(
          Type.String(),
          Type.Union([Type.Boolean(), Type.Object({}, { additionalProperties: true })]),
          {
            default: DEFAULT_POLICIES,
            description: 'Policies every route gets unless it turns them off',
          },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    upstreams: Type.Record(Name, UpstreamSchema, { default: {} }),
    apis: Type.Record(Name, ApiSchema, { default: {} }),
    routes: Type.Array(RouteSchema, { default: [] }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type UpstreamConfig = Static<typeof UpstreamSchema>;
export type ApiConfig = Static<typeof ApiSchema>;
export type MatchConfig = Static<typeof MatchSchema>;
export type ShardConfig = Static<typeof ShardHandlerSchema>;

/** The published JSON Schema: the config schema with each policy's schema spelled out. */
export function jsonSchema(
  policies: { name: string; schema: TSchema; description: string }[],
): Record<string, unknown> {
  const policyProps = Object.fromEntries(
    policies.map((p) => [p.name, { anyOf: [{ type: 'boolean' }, p.schema], description: p.description }]),
  );
  const policiesSchema = { type: 'object', properties: policyProps, additionalProperties: false };
  const schema = structuredClone(ConfigSchema) as unknown as JsonObject;
  const at = (o: JsonObject, ...keys: string[]) => keys.reduce((n, k) => n[k] as JsonObject, o);
  at(schema, 'properties', 'routes', 'items', 'properties').policies = policiesSchema;
  at(schema, 'properties', 'defaults', 'properties').policies = {
    ...policiesSchema,
    default: DEFAULT_POLICIES,
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'junction.yaml',
    ...optionalDefaults(schema),
  };
}

/**
 * A property with a default is required in the TypeScript type (it is always there after loading)
 * but optional to whoever writes the YAML; the published schema says the latter, so editors don't
 * flag a minimal file.
 */
function optionalDefaults<T>(node: T): T {
  if (Array.isArray(node)) return node.map(optionalDefaults) as T;
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) out[k] = optionalDefaults(v);
  const props = out.properties as Record<string, JsonObject> | undefined;
  if (Array.isArray(out.required) && props) {
    out.required = (out.required as string[]).filter((name) => props[name]?.default === undefined);
    if ((out.required as string[]).length === 0) delete out.required;
  }
  return out as T;
}

type JsonObject = { [k: string]: unknown };
