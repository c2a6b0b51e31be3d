/**
 * What the platform's admin sets up in Junction for the demo's outbound webhooks (issue #7, README
 * "Outbound webhooks"), at every `npm start`: the event types the orders service publishes, with
 * their JSON Schemas; the customer Acme's application (uid `acme`); and one endpoint of it — Acme's
 * receiver (services/receiver.ts) — subscribed to both types. Returns the endpoint's signing secret,
 * which the receiver verifies with.
 *
 * Idempotent across restarts (the store keeps what the last run made): what exists is found and
 * kept — the application by its uid, the endpoint by its uid `acme-receiver` — and only put right
 * where it differs from what the demo needs (the receiver's URL after a port change, its filter, and
 * enabled: a fresh receiver is up, whatever a `POST /fail {"status": 410}` of the last run did).
 *
 * `startAcme` does that, starts the receiver with the secret and connects the orders service's
 * publisher (publisher.ts) with the operator token.
 */
import {
  allPages,
  createWebhookClient,
  WebhookApiError,
  type WebhookClient,
} from '../../src/webhooks/index.ts';
import type { EndpointView } from '../../src/webhooks/views.ts';
import { DEMO_ORDERS_ADMIN_TOKEN, type OrderPublisher } from './publisher.ts';
import type { RunningService } from './services/index.ts';
import { start as startReceiver } from './services/receiver.ts';

export const ACME_APP_UID = 'acme';
export const ACME_ENDPOINT_UID = 'acme-receiver';

const OrderId = { type: 'string', pattern: '^ord_' };

/**
 * The orders service's events (OrderEvent in services/orders.ts). Objects stay open
 * (no `additionalProperties: false`), so adding an optional field later passes the backward
 * compatibility check (docs/webhooks-outbound.md "Schema evolution").
 */
export const ORDER_EVENT_TYPES = [
  {
    name: 'order.created',
    description: 'An order was placed',
    schema: {
      type: 'object',
      required: ['id', 'userId', 'items', 'createdAt'],
      properties: {
        id: OrderId,
        userId: { type: 'string' },
        items: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['productId', 'quantity'],
            properties: { productId: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } },
          },
        },
        createdAt: { type: 'string', format: 'date-time' },
      },
    },
  },
  {
    name: 'order.shipped',
    description: 'A shipment of the order is with the carrier',
    schema: {
      type: 'object',
      required: ['id', 'shipment', 'shippedAt'],
      properties: {
        id: OrderId,
        shipment: {
          type: 'object',
          required: ['id', 'carrier', 'status'],
          properties: { id: { type: 'string' }, carrier: { type: 'string' }, status: { type: 'string' } },
        },
        shippedAt: { type: 'string', format: 'date-time' },
      },
    },
  },
] as const;

export interface AcmeSetup {
  appId: string;
  endpoint: EndpointView;
  /** The endpoint's current signing secret (`whsec_…`). */
  secret: string;
}

const isCode = (err: unknown, code: string) => err instanceof WebhookApiError && err.code === code;

/**
 * @example
 * const admin = createWebhookClient({ baseUrl: gateway.adminUrl, token: gateway.adminToken });
 * const { secret } = await setupAcme(admin, 'http://127.0.0.1:9111/webhooks');
 */
export async function setupAcme(admin: WebhookClient, endpointUrl: string): Promise<AcmeSetup> {
  for (const { name, description, schema } of ORDER_EVENT_TYPES) {
    try {
      await admin.createEventType({ name, description, schema });
    } catch (err) {
      if (!isCode(err, 'webhook_event_type_exists')) throw err;
      // Made without a schema (by hand, say): give it ours. A type with a schema keeps it — changing
      // it is a schema evolution, checked for compatibility, not something a restart should do.
      if ((await admin.getEventType(name)).version === 0) await admin.addSchema(name, schema);
    }
  }

  let appId: string;
  try {
    appId = (await admin.createApp({ name: 'Acme', uid: ACME_APP_UID })).id;
  } catch (err) {
    if (!isCode(err, 'webhook_uid_taken')) throw err;
    appId = (await admin.getApp(ACME_APP_UID)).id;
  }

  const wanted = {
    url: endpointUrl,
    description: "Acme's order webhooks (examples/commerce/services/receiver.ts)",
    filter_types: ORDER_EVENT_TYPES.map((t) => t.name),
    disabled: false,
  };
  let endpoint: EndpointView | undefined;
  for await (const ep of allPages((p) => admin.listEndpoints(appId, p))) {
    if (ep.uid === ACME_ENDPOINT_UID) endpoint = ep;
  }
  if (endpoint === undefined) {
    endpoint = await admin.createEndpoint(appId, { uid: ACME_ENDPOINT_UID, ...wanted });
  } else if (
    endpoint.url !== wanted.url ||
    endpoint.disabled ||
    JSON.stringify(endpoint.filter_types) !== JSON.stringify(wanted.filter_types)
  ) {
    endpoint = await admin.updateEndpoint(appId, endpoint.id, wanted);
  }
  const { key } = await admin.endpointSecret(appId, endpoint.id);
  return { appId, endpoint, secret: key };
}

export interface StartAcmeOptions {
  adminUrl: string;
  /** The admin token: setting up applications and reading secrets needs the admin role. */
  adminToken: string;
  publisher: OrderPublisher;
  /** DEMO_RECEIVER_PORT, else 9111 (the port after the identity services' 9107–9110). */
  env?: Record<string, string | undefined>;
}

/** A demo admin call never needs longer; a hung gateway should not hang the caller. */
const CALL_TIMEOUT_MS = 10_000;
const timedFetch: typeof fetch = (input, init) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });

/**
 * @example
 * const acme = await startAcme({ adminUrl: gateway.adminUrl, adminToken: gateway.adminToken, publisher });
 * console.log(acme.receiver.url, acme.setup.endpoint.id);
 */
export async function startAcme(
  options: StartAcmeOptions,
): Promise<{ receiver: RunningService; setup: AcmeSetup }> {
  const env = options.env ?? process.env;
  const raw = env.DEMO_RECEIVER_PORT;
  const port = raw === undefined || raw === '' ? 9111 : Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`DEMO_RECEIVER_PORT must be a port in 1..65535, got ${raw}`);
  }
  const client = (token: string) =>
    createWebhookClient({ baseUrl: options.adminUrl, token, fetch: timedFetch });
  try {
    // 127.0.0.1 is a loopback address: junction.yaml's webhooks.allowHosts lets the endpoint use it.
    const setup = await setupAcme(client(options.adminToken), `http://127.0.0.1:${port}/webhooks`);
    const receiver = await startReceiver({ port, secret: setup.secret });
    options.publisher.connect(client(env.DEMO_ORDERS_ADMIN_TOKEN || DEMO_ORDERS_ADMIN_TOKEN), ACME_APP_UID);
    return { receiver, setup };
  } catch (err) {
    options.publisher.fail(err as Error);
    throw err;
  }
}
