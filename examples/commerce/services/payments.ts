/**
 * The demo's payments service, for the idempotency demo (Q11, docs/idempotency.md). `POST /payments`
 * "charges" on every call — it deliberately does not deduplicate, so the demo shows that a retried
 * POST through the gateway's `core.idempotency` charges once. `GET /payments/:id` reads a payment
 * back, `GET /_stats` counts charges. A `processingMs` field in the body makes a charge take that long,
 * so concurrent retries can be seen getting 409 while the first is in flight.
 *
 * The `Idempotency-Key` the gateway forwards is recorded on the payment: a real service would also
 * check it, since a retry after the gateway's lease lapsed (a crash mid-request) reaches it again.
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

export interface Payment {
  id: string;
  /** Minor units (cents). */
  amount: number;
  currency: string;
  description: string | null;
  status: 'succeeded';
  idempotencyKey: string | null;
  createdAt: string;
}

/** A demo charge never needs to take longer than this. */
const MAX_PROCESSING_MS = 30_000;

interface NewPayment {
  amount: number;
  currency: string;
  description: string | null;
  processingMs: number;
}

function parseNewPayment(body: unknown): NewPayment {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(b.amount) || (b.amount as number) <= 0) {
    throw new HttpError(400, 'invalid_payment', 'amount must be a positive integer in minor units');
  }
  if (typeof b.currency !== 'string' || !/^[A-Za-z]{3}$/.test(b.currency)) {
    throw new HttpError(400, 'invalid_payment', 'currency must be a three-letter ISO 4217 code');
  }
  if (b.description !== undefined && typeof b.description !== 'string') {
    throw new HttpError(400, 'invalid_payment', 'description must be a string');
  }
  const ms = b.processingMs ?? 0;
  if (!Number.isInteger(ms) || (ms as number) < 0 || (ms as number) > MAX_PROCESSING_MS) {
    throw new HttpError(
      400,
      'invalid_payment',
      `processingMs must be an integer from 0 to ${MAX_PROCESSING_MS}`,
    );
  }
  return {
    amount: b.amount as number,
    currency: b.currency.toUpperCase(),
    description: (b.description as string | undefined) ?? null,
    processingMs: ms as number,
  };
}

/**
 * @example
 * const payments = await start({ port: 0 });
 * await fetch(`${payments.url}/payments`, { method: 'POST', body: JSON.stringify({ amount: 1250, currency: 'EUR' }) });
 * await payments.close();
 */
export function start(options: StartOptions): Promise<RunningService> {
  const payments = new Map<string, Payment>();
  const stats = { charges: 0, inFlight: 0 };
  const server = http.createServer(
    router([
      {
        method: 'POST',
        path: '/payments',
        handle: async ({ req, res }) => {
          const input = parseNewPayment(await readJson(req));
          stats.inFlight++;
          try {
            if (input.processingMs > 0) await new Promise((r) => setTimeout(r, input.processingMs));
          } finally {
            stats.inFlight--;
          }
          stats.charges++;
          const key = req.headers['idempotency-key'];
          const payment: Payment = {
            id: `pay_${randomBytes(8).toString('hex')}`,
            amount: input.amount,
            currency: input.currency,
            description: input.description,
            status: 'succeeded',
            idempotencyKey: typeof key === 'string' ? key : null,
            createdAt: new Date().toISOString(),
          };
          payments.set(payment.id, payment);
          res.setHeader('location', `/payments/${payment.id}`);
          sendJson(res, 201, payment);
        },
      },
      {
        method: 'GET',
        path: '/payments/:id',
        handle: ({ res, params }) => {
          const payment = payments.get(params.id ?? '');
          if (payment === undefined) throw new HttpError(404, 'payment_not_found', `no payment ${params.id}`);
          sendJson(res, 200, payment);
        },
      },
      {
        method: 'GET',
        path: '/_stats',
        handle: ({ res }) => sendJson(res, 200, { ...stats, payments: payments.size }),
      },
    ]),
  );
  return listen(server, options);
}
