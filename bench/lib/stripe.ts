/** Stripe events as the events benchmark sends and stores them: unique ids, Stripe's signature scheme. */
import { createHmac } from 'node:crypto';

/** A `charge.succeeded` event as Stripe sends it (about 480 bytes), ids `evt_<prefix>_<n>`, `ch_<prefix>_<n>`. */
export function stripeEvent(prefix: string, n: number, createdS: number): string {
  return JSON.stringify({
    id: `evt_${prefix}_${n}`,
    object: 'event',
    api_version: '2024-06-20',
    created: createdS,
    type: 'charge.succeeded',
    livemode: false,
    pending_webhooks: 1,
    request: { id: `req_${n}`, idempotency_key: null },
    data: {
      object: {
        id: `ch_${prefix}_${n}`,
        object: 'charge',
        amount: 1999 + (n % 1000),
        currency: 'eur',
        customer: 'cus_0000000001',
        description: 'Order 10042',
        paid: true,
        status: 'succeeded',
        metadata: { order_id: `ord_${n}` },
      },
    },
  });
}

/** The `Stripe-Signature` value: `t=<s>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function stripeSignature(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** The headers a Stripe delivery carries that the gateway keeps (never the signature). */
export const STORED_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
} as const;
