/**
 * The demo's payments service, for the idempotency demo (Q11, docs/idempotency.md). `POST /payments`
 * "charges" on every call — it deliberately does not deduplicate, so the demo shows that a retried
 * POST through the gateway's `core.idempotency` charges once. `GET /payments/:id` reads a payment
 * back, `GET /_stats` counts charges. A `processingMs` field in the body makes a charge take that long,
 * so concurrent retries can be seen getting 409 while the first is in flight.
 *
 * The `Idempotency-Key` the gateway forwards is recorded on the payment: a real service would also
 * check it, since a retry after the gateway's lease lapsed (a crash mid-request) reaches it again.
 *
 * Webhooks (Q1, README "Events"): with `webhook` set, the service also plays the payment provider.
 * After each charge it sends a Stripe-format `payment_intent.succeeded` event (id `evt_<payment hex>`,
 * the same for every attempt, the payment in `data.object`) to the gateway's `POST /hooks/stripe`,
 * signed as Stripe signs (webhooks.ts) and retried with backoff until a 2xx. To show the gateway's
 * dedupe, `POST /_control {"duplicateWebhooks": true}` sends every event twice at once, and
 * `POST /payments/:id/webhook` sends a payment's event again (Stripe's "Resend"), answering with what
 * the gateway said.
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
import { sendWebhook, type WebhookAttempt } from './webhooks.ts';

export interface Payment {
  id: string;
  /** Minor units (cents). */
  amount: number;
  currency: string;
  description: string | null;
  /** The order this pays for; the orders service marks it paid when the webhook reaches it. */
  orderId: string | null;
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
  orderId: string | null;
  processingMs: number;
}

/** Where and how the provider half of the service sends its events. */
export interface ProviderWebhook {
  /** The gateway's webhook source, e.g. http://127.0.0.1:8080/hooks/stripe. */
  url: string;
  /** The endpoint's signing secret (`whsec_…`), as the gateway's `events.sources.stripe` has it. */
  secret: string;
  /** Attempts per event, the first included; default 6. */
  attempts?: number;
  /** Wait before the first retry, doubled after each; default 500 ms (0.5, 1, 2, 4, 8 s). */
  backoffMs?: number;
}

export interface PaymentsOptions extends StartOptions {
  /** Unset: no webhooks are sent (the idempotency demo alone). */
  webhook?: ProviderWebhook;
}

interface Control {
  /** Send every event twice, concurrently, as a provider sometimes does. */
  duplicateWebhooks: boolean;
}

function parseControl(body: unknown): Partial<Control> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_control', 'expected a JSON object');
  }
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'duplicateWebhooks') throw new HttpError(400, 'invalid_control', `${key} is not a setting`);
    if (typeof value !== 'boolean') throw new HttpError(400, 'invalid_control', `${key} must be a boolean`);
  }
  return body as Partial<Control>;
}

/**
 * The Stripe event for a charge: the id is derived from the payment's, so every attempt and every
 * resend carries the same `evt_…` (the gateway dedupes on it); Stripe's `currency` is lower case.
 * @example
 * JSON.parse(paymentEvent(payment)).type; // 'payment_intent.succeeded'
 */
export function paymentEvent(payment: Payment): string {
  return JSON.stringify({
    id: `evt_${payment.id.slice('pay_'.length)}`,
    object: 'event',
    api_version: '2025-01-27.acacia',
    created: Math.floor(Date.parse(payment.createdAt) / 1000),
    type: 'payment_intent.succeeded',
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: payment.idempotencyKey },
    data: { object: payment },
  });
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
  if (b.orderId !== undefined && (typeof b.orderId !== 'string' || b.orderId === '')) {
    throw new HttpError(400, 'invalid_payment', 'orderId must be a non-empty string');
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
    orderId: (b.orderId as string | undefined) ?? null,
    processingMs: ms as number,
  };
}

/**
 * @example
 * const payments = await start({ port: 0 });
 * await fetch(`${payments.url}/payments`, { method: 'POST', body: JSON.stringify({ amount: 1250, currency: 'EUR' }) });
 * await payments.close();
 */
export function start(options: PaymentsOptions): Promise<RunningService> {
  const payments = new Map<string, Payment>();
  const stats = { charges: 0, inFlight: 0 };
  const webhooks = { sent: 0, attempts: 0, delivered: 0, duplicates: 0, failed: 0 };
  let control: Control = { duplicateWebhooks: false };
  const closing = new AbortController();

  /** One provider delivery of the payment's event, retried until a 2xx or out of attempts. */
  const deliver = async (payment: Payment): Promise<WebhookAttempt | undefined> => {
    const hook = options.webhook;
    if (hook === undefined) return undefined;
    webhooks.sent++;
    const last = await sendWebhook({
      url: hook.url,
      secret: hook.secret,
      body: paymentEvent(payment),
      attempts: hook.attempts ?? 6,
      backoffMs: hook.backoffMs ?? 500,
      signal: closing.signal,
      onAttempt: () => webhooks.attempts++,
    });
    if (last.status === 200) webhooks.duplicates++; // the gateway had it already: 200 {"duplicate":true}
    if (last.status >= 200 && last.status < 300) webhooks.delivered++;
    else if (!closing.signal.aborted) {
      webhooks.failed++;
      process.stderr.write(
        `payments: webhook for ${payment.id} not delivered after ${last.attempt} attempts (last: ${last.status || last.body})\n`,
      );
    }
    return last;
  };

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
            orderId: input.orderId,
            status: 'succeeded',
            idempotencyKey: typeof key === 'string' ? key : null,
            createdAt: new Date().toISOString(),
          };
          payments.set(payment.id, payment);
          res.setHeader('location', `/payments/${payment.id}`);
          sendJson(res, 201, payment);
          // After the answer, as a provider's webhook follows the API call that caused it.
          const copies = control.duplicateWebhooks ? 2 : 1;
          for (let i = 0; i < copies; i++) void deliver(payment);
        },
      },
      {
        method: 'POST',
        path: '/payments/:id/webhook',
        // Stripe's "Resend": the same event again, now, with what the gateway answered.
        handle: async ({ res, params }) => {
          const payment = payments.get(params.id ?? '');
          if (payment === undefined) throw new HttpError(404, 'payment_not_found', `no payment ${params.id}`);
          if (options.webhook === undefined) {
            throw new HttpError(409, 'webhooks_off', 'this payments service sends no webhooks');
          }
          const last = (await deliver(payment))!;
          let answer: unknown = last.body;
          try {
            answer = JSON.parse(last.body);
          } catch {}
          sendJson(res, 200, { attempts: last.attempt, status: last.status, answer });
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
        handle: ({ res }) => sendJson(res, 200, { ...stats, payments: payments.size, webhooks }),
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
          control = { duplicateWebhooks: false };
          sendJson(res, 200, control);
        },
      },
    ]),
  );
  // Closing stops the retries still waiting; an attempt in flight is aborted.
  return listen(server, options, () => closing.abort());
}
