/**
 * The demo's orders service: in-memory orders (`GET /orders`, `GET /orders/:id`, `POST /orders`) and the
 * streaming endpoints the gateway proxies — SSE at `GET /orders/events`, WebSocket at `/orders/live`.
 *
 * Events (README "Events", Q9, Q24, Q25, Q40): with `webhookSecret` set, `POST /webhooks/payments` and
 * `POST /webhooks/shipments` take the events the gateway forwards (subscriptions `orders-payments` and
 * `orders-shipments` in junction.yaml). They check the Standard Webhooks signature (401 otherwise), and
 * are an **idempotent consumer**: deliveries are at least once, so the service records every
 * `webhook-id` it processed and answers a repeat `200 {"duplicate": true}` without applying it again.
 * A `payment_intent.succeeded` marks the payment's `orderId` paid; a shipment (an item the gateway
 * polled from the partner) sets its status on the order, unless the order has a later one. The ids are
 * kept in memory for the demo — a real service records them in its database, in the transaction that
 * applies the message (docs/events.md, "`inbox`: idempotent consumers"). `/_control` breaks the
 * payments consumer on purpose (the shipments one is left alone): `{"rejectPayments": true}` answers
 * 400 (a poison message: the gateway dead-letters it at once), `{"losePaymentAnswers": n}` processes
 * the next n and then answers 503 as if the answer had been lost (the gateway sends it again; the
 * repeat is recognised). `/_stats` counts per topic.
 *
 * Outbound webhooks (issue #7, README "Outbound webhooks"): with `publish` set, the service tells its
 * customers about their orders — `order.created` when an order is created, `order.shipped` when the
 * first of its shipments is with the carrier (picked up or later). `publish` is the platform's call to
 * Junction (examples/commerce/publisher.ts); this service only says what happened. Its failure never
 * fails the order: it is counted in `/_stats` (`published`) and logged by the publisher. (A real
 * service would write the event to an outbox in the order's transaction, so that a crash between the
 * two loses nothing; the demo keeps orders in memory.)
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  HttpError,
  listen,
  type RouteContext,
  type RunningService,
  readBody,
  readJson,
  router,
  type StartOptions,
  sendJson,
} from './http.ts';
import { attachLive, LIVE_PATH, orderEvents, upgradeRequired } from './orders-streams.ts';
import { verifyStandardWebhook } from './webhooks.ts';

export interface OrderItem {
  productId: string;
  quantity: number;
}

export interface Order {
  id: string;
  userId: string;
  items: OrderItem[];
  status: 'created' | 'paid';
  createdAt: string;
  /** Set once, by the first payment event for the order. */
  payment?: { id: string; amount: number; currency: string; eventId: string; paidAt: string };
  /** The partner's shipments for the order, as its polled updates arrived. */
  shipments?: { id: string; carrier: string; status: string; updatedAt: string; eventId: string }[];
  /** When a shipment of the order was first seen with the carrier (`order.shipped`): its `updatedAt`. */
  shippedAt?: string;
}

/**
 * What the orders service publishes to its customers (outbound webhooks, issue #7). `id` is the
 * event's own id, the same however often it is published (`<order id>-created`, `<order id>-shipped`):
 * the publisher sends it as `event_id` and `Idempotency-Key`, so Junction stores each event once.
 */
export interface OrderEvent {
  type: 'order.created' | 'order.shipped';
  id: string;
  payload: Record<string, unknown>;
}

export interface OrdersOptions extends StartOptions {
  /** The Standard Webhooks secret (`whsec_<base64>`) the gateway signs with; unset: no /webhooks/*. */
  webhookSecret?: string;
  /** Publishes an order event to the customers (through Junction); unset: nothing is published. */
  publish?: (event: OrderEvent) => Promise<unknown>;
}

/** Shipment steps at which the parcel is with the carrier: the order counts as shipped. */
const SHIPPED_STATUSES = new Set(['picked_up', 'in_transit', 'out_for_delivery', 'delivered']);

interface Control {
  /** Answer 400 to every payment event (after the signature check): the poison-message demo. */
  rejectPayments: boolean;
  /** Process the next n payment events, then answer 503 anyway: the at-least-once demo. */
  losePaymentAnswers: number;
}

const defaultControl: Readonly<Control> = Object.freeze({
  rejectPayments: false,
  losePaymentAnswers: 0,
});

function parseControl(body: unknown): Partial<Control> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_control', 'expected a JSON object');
  }
  for (const [key, value] of Object.entries(body)) {
    if (key === 'rejectPayments' && typeof value === 'boolean') continue;
    if (key === 'losePaymentAnswers' && Number.isInteger(value) && (value as number) >= 0) continue;
    throw new HttpError(
      400,
      'invalid_control',
      `${key}: expected rejectPayments (boolean) or losePaymentAnswers (integer ≥ 0)`,
    );
  }
  return body as Partial<Control>;
}

function parseEvent<T>(body: Buffer): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new HttpError(400, 'invalid_json', 'the event is not JSON');
  }
}

/** A polled shipment: the partner's item as it was listed (examples/commerce/services/shipments.ts). */
interface PolledShipment {
  id: string;
  orderId: string;
  carrier: string;
  status: string;
  updatedAt: string;
}

function shipmentOf(body: Buffer): PolledShipment {
  const s = parseEvent<Record<string, unknown>>(body);
  for (const field of ['id', 'orderId', 'carrier', 'status', 'updatedAt']) {
    if (typeof s[field] !== 'string') {
      throw new HttpError(400, 'invalid_event', `expected a shipment with ${field}`);
    }
  }
  return s as unknown as PolledShipment;
}

/** What the consumer needs from a Stripe `payment_intent.*` event (the payment is in data.object). */
function paymentOf(body: Buffer): {
  type: string;
  id: string;
  amount: number;
  currency: string;
  orderId?: string;
} {
  const event = parseEvent<{ type?: unknown; data?: { object?: Record<string, unknown> } }>(body);
  const p = event.data?.object;
  if (typeof event.type !== 'string' || typeof p?.id !== 'string') {
    throw new HttpError(400, 'invalid_event', 'expected a payment event: type and data.object.id');
  }
  return {
    type: event.type,
    id: p.id,
    amount: Number(p.amount),
    currency: String(p.currency),
    ...(typeof p.orderId === 'string' ? { orderId: p.orderId } : {}),
  };
}

/** Refers to the users and products services' seed ids so the demo's aggregation joins line up. */
export const seedOrders: readonly Order[] = [
  {
    id: 'ord_1001',
    userId: 'usr_ada',
    items: [{ productId: 'prd_mug', quantity: 2 }],
    status: 'created',
    createdAt: '2026-01-05T10:00:00.000Z',
  },
  {
    id: 'ord_1002',
    userId: 'usr_grace',
    items: [
      { productId: 'prd_tee', quantity: 1 },
      { productId: 'prd_cable', quantity: 3 },
    ],
    status: 'created',
    createdAt: '2026-01-06T14:30:00.000Z',
  },
];

function parseNewOrder(body: unknown): Pick<Order, 'userId' | 'items'> {
  const { userId, items } = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  const validItem = (item: unknown): item is OrderItem => {
    const { productId, quantity } = (item ?? {}) as Record<string, unknown>;
    return typeof productId === 'string' && Number.isInteger(quantity) && (quantity as number) > 0;
  };
  if (typeof userId !== 'string' || userId === '') {
    throw new HttpError(400, 'invalid_order', 'userId must be a non-empty string');
  }
  if (!Array.isArray(items) || items.length === 0 || !items.every(validItem)) {
    throw new HttpError(
      400,
      'invalid_order',
      'items must be a non-empty array of { productId, quantity > 0 }',
    );
  }
  return { userId, items: items.map(({ productId, quantity }) => ({ productId, quantity })) };
}

/**
 * Starts the orders service with a fresh copy of the seed data.
 * @example
 * const orders = await start({ port: 0 });
 * const live = new WebSocket(`${orders.url.replace('http', 'ws')}/orders/live`);
 * await orders.close();
 */
export function start(options: OrdersOptions): Promise<RunningService> {
  const orders = new Map(seedOrders.map((o) => [o.id, structuredClone(o)]));
  /** Webhook ids processed: in memory for the demo (a real consumer keeps them in its database). */
  const processed = new Set<string>();
  const counters = () => ({
    received: 0,
    processed: 0,
    duplicates: 0,
    rejected: 0,
    badSignature: 0,
    ignored: 0,
  });
  const webhooks = { payments: counters(), shipments: counters() };
  const published = { sent: 0, failed: 0 };
  let control: Control = { ...defaultControl };

  /**
   * Hands the event to the publisher without waiting: the order is answered (or the shipment update
   * acknowledged) whatever becomes of it, and a slow or failing Junction cannot hold the service up.
   */
  const emit = (event: OrderEvent): void => {
    if (options.publish === undefined) return;
    Promise.resolve()
      .then(() => options.publish!(event))
      .then(
        () => published.sent++,
        () => published.failed++, // the publisher logs why
      );
  };

  /** Applies one verified payment event; what it did, for the answer. */
  const applyPayment = (eventId: string, body: Buffer): Record<string, unknown> => {
    const payment = paymentOf(body);
    if (payment.type !== 'payment_intent.succeeded' || payment.orderId === undefined) {
      webhooks.payments.ignored++;
      return { ignored: payment.orderId === undefined ? 'the payment names no orderId' : payment.type };
    }
    const order = orders.get(payment.orderId);
    // Not retryable: the same event would name the same unknown order. 422 sends it to the DLQ.
    if (order === undefined) throw new HttpError(422, 'order_not_found', `no order ${payment.orderId}`);
    if (order.payment !== undefined) {
      webhooks.payments.ignored++;
      return { ignored: `order ${order.id} is paid already`, order: order.id };
    }
    order.status = 'paid';
    order.payment = {
      id: payment.id,
      amount: payment.amount,
      currency: payment.currency,
      eventId,
      paidAt: new Date().toISOString(),
    };
    return { paid: order.id };
  };

  /** Applies one verified shipment update, unless the order has a later one (deliveries may overtake). */
  const applyShipment = (eventId: string, body: Buffer): Record<string, unknown> => {
    const shipment = shipmentOf(body);
    const order = orders.get(shipment.orderId);
    if (order === undefined) {
      webhooks.shipments.ignored++; // the partner ships for other shops too
      return { ignored: `no order ${shipment.orderId}` };
    }
    order.shipments ??= [];
    const list = order.shipments;
    const known = list.find((k) => k.id === shipment.id);
    if (known !== undefined && known.updatedAt >= shipment.updatedAt) {
      webhooks.shipments.ignored++;
      return { ignored: `${shipment.id} has a later update (${known.status})` };
    }
    const { id, carrier, status, updatedAt } = shipment;
    if (known === undefined) list.push({ id, carrier, status, updatedAt, eventId });
    else Object.assign(known, { status, updatedAt, eventId });
    if (order.shippedAt === undefined && SHIPPED_STATUSES.has(status)) {
      // The carrier's time, not ours: the event's payload is then the same however often it is
      // derived, which its Idempotency-Key requires (publisher.ts).
      order.shippedAt = updatedAt;
      emit({
        type: 'order.shipped',
        id: `${order.id}-shipped`,
        payload: { id: order.id, shipment: { id, carrier, status }, shippedAt: order.shippedAt },
      });
    }
    return { shipment: id, status };
  };

  /**
   * `POST /webhooks/<topic>`: verify, then (unless poisoned) apply once per webhook-id. The id is
   * recorded only after `apply` succeeded, so a delivery that failed is applied when it comes again.
   */
  const consume =
    (topic: keyof typeof webhooks, apply: (eventId: string, body: Buffer) => Record<string, unknown>) =>
    async ({ req, res }: RouteContext) => {
      const counts = webhooks[topic];
      if (options.webhookSecret === undefined) {
        throw new HttpError(404, 'not_found', 'this orders service takes no webhooks');
      }
      const body = await readBody(req);
      counts.received++;
      const check = verifyStandardWebhook(options.webhookSecret, req.headers, body);
      if (!check.ok) {
        counts.badSignature++;
        throw new HttpError(401, 'webhook_unverified', check.reason);
      }
      if (topic === 'payments' && control.rejectPayments) {
        counts.rejected++;
        throw new HttpError(400, 'webhook_rejected', 'rejectPayments is on (POST /_control)');
      }
      if (processed.has(check.id)) {
        counts.duplicates++;
        sendJson(res, 200, { duplicate: true, id: check.id });
        return;
      }
      const result = apply(check.id, body); // throws (nothing recorded) when it cannot apply
      processed.add(check.id);
      counts.processed++;
      if (topic === 'payments' && control.losePaymentAnswers > 0) {
        control.losePaymentAnswers--;
        throw new HttpError(503, 'answer_lost', 'processed, but answering 503 (losePaymentAnswers)');
      }
      sendJson(res, 200, { duplicate: false, id: check.id, ...result });
    };

  const server = http.createServer(
    router([
      {
        method: 'GET',
        path: '/orders',
        // ?status=paid lists the orders a payment event has reached.
        handle: ({ res, url }) => {
          const status = url.searchParams.get('status');
          const list = [...orders.values()].filter((o) => status === null || o.status === status);
          sendJson(res, 200, { data: list });
        },
      },
      // Literal paths before `/orders/:id`, which would otherwise match them.
      { method: 'GET', path: '/orders/events', handle: orderEvents },
      { method: 'GET', path: LIVE_PATH, handle: upgradeRequired },
      {
        method: 'GET',
        path: '/orders/:id',
        handle: ({ res, params }) => {
          const order = orders.get(params.id ?? '');
          if (!order) throw new HttpError(404, 'order_not_found', `no order ${params.id}`);
          sendJson(res, 200, order);
        },
      },
      {
        method: 'POST',
        path: '/orders',
        handle: async ({ req, res }) => {
          const order: Order = {
            id: `ord_${randomBytes(8).toString('hex')}`,
            ...parseNewOrder(await readJson(req)),
            status: 'created',
            createdAt: new Date().toISOString(),
          };
          orders.set(order.id, order);
          emit({
            type: 'order.created',
            id: `${order.id}-created`,
            payload: { id: order.id, userId: order.userId, items: order.items, createdAt: order.createdAt },
          });
          res.setHeader('location', `/orders/${order.id}`);
          sendJson(res, 201, order);
        },
      },
      { method: 'POST', path: '/webhooks/payments', handle: consume('payments', applyPayment) },
      { method: 'POST', path: '/webhooks/shipments', handle: consume('shipments', applyShipment) },
      {
        method: 'GET',
        path: '/_stats',
        handle: ({ res }) =>
          sendJson(res, 200, {
            webhooks,
            published,
            paid: [...orders.values()].filter((o) => o.status === 'paid').map((o) => o.id),
          }),
      },
      { method: 'GET', path: '/_control', handle: ({ res }) => sendJson(res, 200, control) },
      {
        method: 'POST',
        path: '/_control',
        handle: async ({ req, res }) => {
          control = { ...control, ...parseControl(await readJson(req)) };
          sendJson(res, 200, control);
        },
      },
      {
        method: 'DELETE',
        path: '/_control',
        handle: ({ res }) => {
          control = { ...defaultControl };
          sendJson(res, 200, control);
        },
      },
    ]),
  );
  const dropLive = attachLive(server);
  return listen(server, options, dropLive);
}
