/**
 * The platform's side of outbound webhooks in the demo (issue #7, README "Outbound webhooks"): the
 * orders service says what happened (`OrderEvent`, services/orders.ts) and this publisher sends it to
 * the customer's application in Junction — `POST /admin/v1/apps/{app}/messages` through the typed
 * client, with the event's own id as `event_id` and as `Idempotency-Key`, so an event sent twice (a
 * retry, a restarted service) is stored and delivered once. The same event derived again with other
 * details (after a restart of the in-memory services) keeps the first message.
 *
 * It authenticates with an operator credential, not the admin token: sending is what a backend does
 * all day, and an operator may send but not reroute endpoints or read their secrets
 * (docs/webhooks-outbound.md "Admin API"). The demo's is a named token in junction.yaml
 * (`admin.tokens`, `orders-service`).
 *
 * The orders service starts before the gateway, and the customer's application is set up after it
 * (setup.ts), so events wait until `connect` hands over the client; a failed setup fails them.
 */
import { WebhookApiError, type WebhookClient } from '../../src/webhooks/index.ts';
import type { OrderEvent } from './services/orders.ts';

/** Demo-only, also the default in junction.yaml (`admin.tokens`): set DEMO_ORDERS_ADMIN_TOKEN to change both. */
export const DEMO_ORDERS_ADMIN_TOKEN = 'junction-demo-orders-service-token';

export interface OrderPublisher {
  /** Sends one event; rejects (after logging why) when Junction did not take it. */
  publish(event: OrderEvent): Promise<void>;
  /** Events sent so far and from now on go out through this client, to this application. */
  connect(client: WebhookClient, app: string): void;
  /** Setup failed: every waiting and later event fails with this. */
  fail(reason: Error): void;
}

export interface OrderPublisherOptions {
  /** One line per event; the demo writes them to stderr. */
  log?: (line: string) => void;
}

/**
 * @example
 * const publisher = orderPublisher({ log: (l) => process.stderr.write(`${l}\n`) });
 * await startServices({ publishOrderEvent: publisher.publish });
 * publisher.connect(createWebhookClient({ baseUrl: gateway.adminUrl, token }), 'acme');
 */
export function orderPublisher(options: OrderPublisherOptions = {}): OrderPublisher {
  const log = options.log ?? (() => {});
  let resolve!: (target: { client: WebhookClient; app: string }) => void;
  let reject!: (reason: Error) => void;
  const target = new Promise<{ client: WebhookClient; app: string }>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  target.catch(() => {}); // rejected before anyone waits: reported by each publish instead

  return {
    async publish(event) {
      try {
        const { client, app } = await target;
        const sent = await client.send(
          app,
          { event_type: event.type, payload: event.payload, event_id: event.id },
          { idempotencyKey: event.id },
        );
        const how = sent.duplicate || sent.replayed ? 'sent before' : `to ${sent.endpoints} endpoint(s)`;
        log(`orders: published ${event.type} ${event.id} as ${sent.id} (${how})`);
      } catch (err) {
        if (err instanceof WebhookApiError && err.code === 'webhook_idempotency_key_mismatch') {
          // The event was published before with other details: the demo's services keep their
          // state in memory and derive it afresh after a restart (the partner's seed shipments get
          // new times), while Junction keeps what it stored. The first message stands, as it does
          // for a repeated event_id; nothing is lost.
          log(`orders: ${event.type} ${event.id} was published before (with other details); kept that one`);
          return;
        }
        const why =
          err instanceof WebhookApiError ? `${err.status} ${err.code}: ${err.message}` : String(err);
        log(`orders: could not publish ${event.type} ${event.id}: ${why}`);
        throw err;
      }
    },
    connect: (client, app) => resolve({ client, app }),
    fail: (reason) => reject(reason),
  };
}
