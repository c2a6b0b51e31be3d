/**
 * The partner's shipment tracking API (Q9, README "Events"): like many partners it sends no webhooks,
 * so the gateway polls it (`events.pollers.shipments` in junction.yaml). What a poller needs from a
 * list endpoint, done the usual way:
 *
 * - `GET /shipments?since=<updatedAt>&limit=<n>` lists the shipments changed at or after `since`,
 *   oldest change first (`{"data": [...]}`), so the last item's `updatedAt` is the next cursor;
 * - pages of `limit` (default 10) with an RFC 8288 `Link: <…&after=…>; rel="next"` while more are left;
 * - an `ETag` on every page, and `304 Not Modified` to a matching `If-None-Match`: nothing changed.
 *
 * Shipments move on: every `tickMs` the one updated longest ago takes its next step (label_created →
 * picked_up → in_transit → out_for_delivery → delivered; once all are delivered a new one starts, up
 * to AUTO_SHIPMENTS in all). `POST /shipments {"orderId": …}` starts one and
 * `POST /shipments/:id/advance` moves one at once. Each change sets a new `updatedAt`, strictly later
 * than any before, so `id@updatedAt` names one version of a shipment.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { HttpError, type Route, readJson, sendJson } from './http.ts';

export const SHIPMENT_STEPS = [
  'label_created',
  'picked_up',
  'in_transit',
  'out_for_delivery',
  'delivered',
] as const;

export interface Shipment {
  id: string;
  /** An order of the demo's orders service. */
  orderId: string;
  carrier: string;
  status: (typeof SHIPMENT_STEPS)[number];
  /** RFC 3339, milliseconds, UTC: strings of one format sort as the times do. */
  updatedAt: string;
}

export interface ShipmentsOptions {
  /** How often a shipment moves on by itself; 0: only through POST /shipments/:id/advance. */
  tickMs: number;
  now?: () => number;
}

export interface ShipmentsApi {
  routes: Route[];
  /** Stops the timer. */
  stop(): void;
}

const DEFAULT_LIMIT = 10;
/** The timer starts new shipments until there are this many; then it only moves the open ones. */
export const AUTO_SHIPMENTS = 12;
const MAX_LIMIT = 100;

/**
 * @example
 * const shipments = shipmentsApi({ tickMs: 15_000 });
 * const server = http.createServer(router([...otherRoutes, ...shipments.routes]));
 */
export function shipmentsApi(options: ShipmentsOptions): ShipmentsApi {
  const now = options.now ?? Date.now;
  let last = 0;
  /** A time later than every one handed out before, so no two versions share an `updatedAt`. */
  const stamp = (at = now()) => {
    last = Math.max(at, last + 1);
    return new Date(last).toISOString();
  };
  const started = now();
  const shipments = new Map<string, Shipment>(
    (
      [
        ['shp_1001', 'ord_1001', 'DHL', 'label_created', 60_000],
        ['shp_1002', 'ord_1002', 'UPS', 'in_transit', 40_000],
        ['shp_1003', 'ord_1002', 'DHL', 'picked_up', 20_000],
      ] as const
    ).map(([id, orderId, carrier, status, ago]) => [
      id,
      { id, orderId, carrier, status, updatedAt: stamp(started - ago) },
    ]),
  );
  const create = (orderId: string, carrier: string): Shipment => {
    const id = `shp_${1001 + shipments.size}`;
    const shipment: Shipment = { id, orderId, carrier, status: 'label_created', updatedAt: stamp() };
    shipments.set(id, shipment);
    return shipment;
  };

  const advance = (s: Shipment): Shipment => {
    const step = SHIPMENT_STEPS.indexOf(s.status);
    if (step === SHIPMENT_STEPS.length - 1) {
      throw new HttpError(409, 'shipment_delivered', `${s.id} is delivered already`);
    }
    s.status = SHIPMENT_STEPS[step + 1]!;
    s.updatedAt = stamp();
    return s;
  };

  const tick = () => {
    const open = [...shipments.values()].filter((s) => s.status !== 'delivered');
    if (open.length > 0) advance(open.reduce((a, b) => (a.updatedAt <= b.updatedAt ? a : b)));
    else if (shipments.size < AUTO_SHIPMENTS) create(shipments.size % 2 ? 'ord_1002' : 'ord_1001', 'DHL');
  };
  const timer = options.tickMs > 0 ? setInterval(tick, options.tickMs) : undefined;
  timer?.unref();

  const list = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    // since (the poller's cursor) is inclusive: the item the cursor came from is listed again, and
    // the poller knows it (id@updatedAt). after (the next-page links) is exclusive: keyset pages,
    // so a shipment that changes between two pages moves to the end instead of shifting an offset.
    const since = url.searchParams.get('since') ?? '';
    const after = url.searchParams.get('after');
    const limit = intParam(url, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT);
    const changed = [...shipments.values()]
      .filter((s) => (after === null ? s.updatedAt >= since : s.updatedAt > after))
      .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
    const page = changed.slice(0, limit);
    const body = JSON.stringify({ data: page });
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    res.setHeader('etag', etag);
    res.setHeader('cache-control', 'no-cache');
    if (changed.length > limit) {
      const next = new URLSearchParams({ limit: String(limit), after: page.at(-1)!.updatedAt });
      res.setHeader('link', `</shipments?${next}>; rel="next"`);
    }
    if (matches(req.headers['if-none-match'], etag)) {
      res.writeHead(304).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  return {
    routes: [
      { method: 'GET', path: '/shipments', handle: ({ req, res, url }) => list(req, res, url) },
      {
        method: 'POST',
        path: '/shipments',
        handle: async ({ req, res }) => {
          const { orderId, carrier = 'DHL' } = (await readJson(req)) as Record<string, unknown>;
          if (typeof orderId !== 'string' || orderId === '' || typeof carrier !== 'string') {
            throw new HttpError(400, 'invalid_shipment', 'expected {"orderId": "ord_…", "carrier"?: "…"}');
          }
          const shipment = create(orderId, carrier);
          res.setHeader('location', `/shipments/${shipment.id}`);
          sendJson(res, 201, shipment);
        },
      },
      {
        method: 'GET',
        path: '/shipments/:id',
        handle: ({ res, params }) => sendJson(res, 200, find(shipments, params.id)),
      },
      {
        method: 'POST',
        path: '/shipments/:id/advance',
        handle: ({ res, params }) => sendJson(res, 200, advance(find(shipments, params.id))),
      },
    ],
    stop: () => clearInterval(timer),
  };
}

function find(shipments: Map<string, Shipment>, id: string | undefined): Shipment {
  const s = shipments.get(id ?? '');
  if (s === undefined) throw new HttpError(404, 'shipment_not_found', `no shipment ${id}`);
  return s;
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, 'invalid_query', `${name} must be an integer in ${min}..${max}`);
  }
  return value;
}

/** RFC 9110 §13.1.2: `*` or a list of entity tags, compared weakly. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}
