/**
 * "Acme", a customer of the commerce platform, receiving the platform's outbound webhooks (issue #7,
 * README "Outbound webhooks"): the orders service publishes `order.created` and `order.shipped`
 * through Junction, which signs and delivers them here (`POST /webhooks`).
 *
 * Acme verifies every request with the `standardwebhooks` package and the endpoint's `whsec_…`
 * secret, as any Standard Webhooks (or Svix) receiver would — not with the demo's own code
 * (services/webhooks.ts), so the demo also shows that Junction's signatures check out with the
 * reference library. A request that does not verify is answered 401 (Junction does not retry a 4xx).
 *
 * - `GET /received` lists every request that came in, oldest first (newest last): its `webhookId`
 *   (the message id, the same on every retry), `type` (Junction's `x-junction-event-type`),
 *   `verified`, the `status` Acme answered, and the payload once verified.
 * - `POST /fail {"status": 503}` makes Acme answer that status to every delivery (after recording it),
 *   so the demo can show retries, the attempt log and dead letters; `{"status": 410}` says the endpoint
 *   is gone (Junction disables it); `{"status": null}` heals. `"count": n` fails the next n only.
 *
 * Like the other services it imports nothing from Junction's `src/`: it stands for someone else's
 * system, on the internet in real life.
 */
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import {
  HttpError,
  listen,
  type RunningService,
  readBody,
  readJson,
  router,
  type StartOptions,
  sendJson,
} from './http.ts';

export interface ReceiverOptions extends StartOptions {
  /** The endpoint's signing secret (`whsec_…`), as Junction's `GET …/endpoints/{ep}/secret` shows it. */
  secret: string;
}

export interface Received {
  /** `webhook-id`: the message id (`msg_…`); null when the header was missing. */
  webhookId: string | null;
  /** `x-junction-event-type`, e.g. `order.created`. */
  type: string | null;
  /** The signature matched the secret and the timestamp was within 5 minutes. */
  verified: boolean;
  /** What Acme answered. */
  status: number;
  receivedAt: string;
  /** The payload, once verified (an unverified body is not trusted with a place in the list). */
  payload?: unknown;
}

export interface Failure {
  /** The status answered instead of 204; null: healthy. */
  status: number | null;
  /** Fail this many more deliveries, then heal; null: until told otherwise. */
  count: number | null;
}

/** Kept in memory for the demo; older entries go first so a long-running demo stays small. */
const MAX_RECEIVED = 1000;

function parseFailure(body: unknown): Failure {
  const { status, count, ...rest } = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  const extra = Object.keys(rest);
  const statusOk =
    status === null || (Number.isInteger(status) && (status as number) >= 400 && (status as number) <= 599);
  const countOk = count === undefined || count === null || (Number.isInteger(count) && (count as number) > 0);
  if (!statusOk || !countOk || extra.length > 0 || Array.isArray(body)) {
    throw new HttpError(
      400,
      'invalid_failure',
      'expected {"status": 400..599 or null, "count"?: n > 0}' +
        (extra.length ? `; unknown ${extra.join(', ')}` : ''),
    );
  }
  return {
    status: status as number | null,
    count: status === null ? null : ((count ?? null) as number | null),
  };
}

/**
 * Starts Acme's receiver.
 * @example
 * const acme = await start({ port: 9111, secret: 'whsec_…' });
 * // endpoint URL: `${acme.url}/webhooks`; then GET `${acme.url}/received`
 */
export function start(options: ReceiverOptions): Promise<RunningService> {
  const webhook = new Webhook(options.secret);
  const received: Received[] = [];
  let failure: Failure = { status: null, count: null };

  const record = (entry: Received) => {
    received.push(entry);
    if (received.length > MAX_RECEIVED) received.shift();
  };

  const server = http.createServer(
    router([
      {
        method: 'POST',
        path: '/webhooks',
        handle: async ({ req, res }) => {
          const body = await readBody(req);
          const header = (name: string) => {
            const v = req.headers[name];
            return typeof v === 'string' && v !== '' ? v : null;
          };
          let verified = true;
          let payload: unknown;
          try {
            // The library checks webhook-id/-timestamp/-signature, the 5-minute tolerance and every
            // `v1,` signature (Junction sends one per secret during a rotation).
            payload = webhook.verify(body.toString('utf8'), req.headers as Record<string, string>);
          } catch {
            verified = false;
          }
          const status = failure.status ?? (verified ? 204 : 401);
          if (failure.status !== null && failure.count !== null && --failure.count === 0) {
            failure = { status: null, count: null };
          }
          record({
            webhookId: header('webhook-id'),
            type: header('x-junction-event-type'),
            verified,
            status,
            receivedAt: new Date().toISOString(),
            ...(verified ? { payload } : {}),
          });
          if (status === 204) {
            res.writeHead(204).end();
            return;
          }
          const message =
            status === 401
              ? 'the signature does not verify'
              : `failing on purpose (POST /fail set ${status})`;
          sendJson(res, status, { error: status === 401 ? 'unverified' : 'failing', message });
        },
      },
      { method: 'GET', path: '/received', handle: ({ res }) => sendJson(res, 200, { data: received }) },
      { method: 'GET', path: '/fail', handle: ({ res }) => sendJson(res, 200, failure) },
      {
        method: 'POST',
        path: '/fail',
        handle: async ({ req, res }) => {
          failure = parseFailure(await readJson(req));
          sendJson(res, 200, failure);
        },
      },
    ]),
  );
  return listen(server, options);
}
