/**
 * Starts the commerce demo's upstream services together. Run it directly to keep them up:
 * `node examples/commerce/services/index.ts` (ports from DEMO_USERS_PORT, DEMO_ORDERS_PORT,
 * DEMO_PRODUCTS_PORT, DEMO_PARTNER_PORT, DEMO_SLOW_PORT, DEMO_PAYMENTS_PORT, else 9101–9106; the
 * partner's rate limit from DEMO_PARTNER_LIMIT per DEMO_PARTNER_WINDOW_MS, else 100 per 60000).
 *
 * Events (README "Events"): payments sends its Stripe-signed webhooks to the gateway's /hooks/stripe
 * (on JUNCTION_PROXY_PORT, else 8080) with DEMO_STRIPE_SECRET; orders checks the gateway's deliveries
 * with DEMO_ORDERS_WEBHOOK_SECRET. The defaults are the ones junction.yaml falls back to. The partner's
 * shipments (polled by the gateway) move on every DEMO_SHIPMENTS_TICK_MS (else 10000; 0: never).
 *
 * Outbound webhooks (README "Outbound webhooks"): with `publishOrderEvent`, orders publishes
 * `order.created` / `order.shipped` through it. The customer's receiver (receiver.ts, DEMO_RECEIVER_PORT,
 * else 9111) is not started here: it needs the signing secret Junction gives its endpoint, so
 * examples/commerce/start.ts starts it once the gateway is up.
 */
import type { RunningService } from './http.ts';
import { type OrderEvent, start as startOrders } from './orders.ts';
import { behaviourFromEnv, start as startPartner } from './partner.ts';
import { start as startPayments } from './payments.ts';
import { start as startProducts } from './products.ts';
import { start as startSlow } from './slow.ts';
import { start as startUsers } from './users.ts';

export type { RunningService, StartOptions } from './http.ts';

/** Demo-only secrets, also the defaults in junction.yaml: set DEMO_STRIPE_SECRET and DEMO_ORDERS_WEBHOOK_SECRET to change both. */
export const DEMO_STRIPE_SECRET = 'whsec_demo_junction_commerce_stripe_endpoint';
export const DEMO_ORDERS_WEBHOOK_SECRET = 'whsec_anVuY3Rpb24gY29tbWVyY2UgZGVtbzogb3JkZXJzIHdlYmhvb2tzISEh';

export type ServiceName = 'users' | 'orders' | 'products' | 'partner' | 'slow' | 'payments';

export interface ServicesOptions {
  /** Defaults to 127.0.0.1: the services trust whatever reaches them, so they stay off the network. */
  host?: string;
  /** An explicit port wins over the DEMO_*_PORT variable, which wins over the default; 0 picks a free port. */
  ports?: Partial<Record<ServiceName, number>>;
  env?: Record<string, string | undefined>;
  /** How the orders service publishes its events (outbound webhooks); unset: it publishes none. */
  publishOrderEvent?: (event: OrderEvent) => Promise<unknown>;
}

export interface RunningServices {
  urls: Record<ServiceName, string>;
  services: Record<ServiceName, RunningService>;
  close(): Promise<void>;
}

const defaults = {
  users: { port: 9101, env: 'DEMO_USERS_PORT', start: startUsers },
  orders: { port: 9102, env: 'DEMO_ORDERS_PORT', start: startOrders },
  products: { port: 9103, env: 'DEMO_PRODUCTS_PORT', start: startProducts },
  // Fault demos (docs/chaos.md): a flaky partner API steered via /_control, and a slow service.
  partner: { port: 9104, env: 'DEMO_PARTNER_PORT', start: startPartner },
  slow: { port: 9105, env: 'DEMO_SLOW_PORT', start: startSlow },
  // Idempotency demo (docs/idempotency.md): charges on every POST; the gateway makes retries safe.
  payments: { port: 9106, env: 'DEMO_PAYMENTS_PORT', start: startPayments },
} as const;

const names = Object.keys(defaults) as ServiceName[];

/** DEMO_SHIPMENTS_TICK_MS: how often a partner shipment moves on by itself (0: never), else 10000. */
function shipmentsTickFromEnv(env: Record<string, string | undefined>): number {
  const raw = env.DEMO_SHIPMENTS_TICK_MS;
  const ms = raw === undefined || raw === '' ? 10_000 : Number(raw);
  if (!Number.isInteger(ms) || ms < 0)
    throw new RangeError(`DEMO_SHIPMENTS_TICK_MS must be ms ≥ 0, got ${raw}`);
  return ms;
}

function portFor(name: ServiceName, options: ServicesOptions): number {
  const { port, env } = defaults[name];
  const explicit = options.ports?.[name];
  const raw = (options.env ?? process.env)[env];
  const chosen = explicit ?? (raw === undefined || raw === '' ? port : Number(raw));
  if (!Number.isInteger(chosen) || chosen < 0 || chosen > 65_535) {
    throw new RangeError(`${name} port must be an integer in 0..65535, got ${explicit ?? raw} (${env})`);
  }
  return chosen;
}

/**
 * Starts users, orders, products, partner, slow and payments; if any fails to listen, the others are closed again.
 * @example
 * const demo = await startServices({ ports: { users: 0, orders: 0, products: 0 } });
 * console.log(demo.urls.orders);
 * await demo.close();
 */
export async function startServices(options: ServicesOptions = {}): Promise<RunningServices> {
  const host = options.host ?? '127.0.0.1';
  const ports = names.map((name) => portFor(name, options)); // validate all before opening any
  const env = options.env ?? process.env;
  const extra: Partial<Record<ServiceName, object>> = {
    partner: { behaviour: behaviourFromEnv(env), shipmentsTickMs: shipmentsTickFromEnv(env) },
    payments: {
      webhook: {
        url: `http://127.0.0.1:${env.JUNCTION_PROXY_PORT || 8080}/hooks/stripe`,
        secret: env.DEMO_STRIPE_SECRET || DEMO_STRIPE_SECRET,
      },
    },
    orders: {
      webhookSecret: env.DEMO_ORDERS_WEBHOOK_SECRET || DEMO_ORDERS_WEBHOOK_SECRET,
      ...(options.publishOrderEvent ? { publish: options.publishOrderEvent } : {}),
    },
  };
  const settled = await Promise.allSettled(
    names.map((name, i) => defaults[name].start({ host, port: ports[i]!, ...extra[name] })),
  );
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => s.close()));
    throw failed.reason;
  }
  const services = Object.fromEntries(names.map((name, i) => [name, started[i]!])) as Record<
    ServiceName,
    RunningService
  >;
  return {
    services,
    urls: Object.fromEntries(names.map((name) => [name, services[name].url])) as Record<ServiceName, string>,
    close: async () => {
      await Promise.all(started.map((s) => s.close()));
    },
  };
}

if (import.meta.main) {
  const demo = await startServices();
  for (const name of names) console.log(`${name.padEnd(8)} ${demo.urls[name]}`);
  const stop = () => void demo.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
