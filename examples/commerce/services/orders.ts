/**
 * The demo's orders service: in-memory orders (`GET /orders`, `GET /orders/:id`, `POST /orders`) and the
 * streaming endpoints the gateway proxies — SSE at `GET /orders/events`, WebSocket at `/orders/live`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  HttpError,
  listen,
  type RunningService,
  readJson,
  router,
  type StartOptions,
  sendJson,
} from './http.ts';
import { attachLive, LIVE_PATH, orderEvents, upgradeRequired } from './orders-streams.ts';

export interface OrderItem {
  productId: string;
  quantity: number;
}

export interface Order {
  id: string;
  userId: string;
  items: OrderItem[];
  status: 'created';
  createdAt: string;
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
export function start(options: StartOptions): Promise<RunningService> {
  const orders = new Map(seedOrders.map((o) => [o.id, structuredClone(o)]));
  const server = http.createServer(
    router([
      {
        method: 'GET',
        path: '/orders',
        handle: ({ res }) => sendJson(res, 200, { data: [...orders.values()] }),
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
          res.setHeader('location', `/orders/${order.id}`);
          sendJson(res, 201, order);
        },
      },
    ]),
  );
  const dropLive = attachLive(server);
  return listen(server, options, dropLive);
}
