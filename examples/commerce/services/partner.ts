/**
 * The demo's flaky third-party "partner" API: exchange rates behind the gateway's resilience
 * policies. `GET /rates` answers JSON — or fails, lags, hangs or resets the connection, as told at
 * runtime through `POST /_control`, so a demo can show retries, timeouts, circuit breaking and
 * Retry-After handling against a real socket. `/_control`, `/_stats` and `/health` are never
 * disturbed by the faults: the demo must always be able to steer and observe the partner.
 *
 * Like most real partners it publishes a strict rate limit (Q3: "100 requests/minute"): fixed
 * windows on its own clock, `RateLimit-Policy`/`RateLimit` on every answer
 * (draft-ietf-httpapi-ratelimit-headers-10) and 429 with `Retry-After` beyond it, so the gateway's
 * pacer has something to keep under.
 *
 * It also tracks shipments (shipments.ts), and sends no webhooks about them: the gateway polls
 * `GET /shipments` (Q9). That API is outside the rate limit and the faults, which are the rates' only.
 */
import http from 'node:http';
import {
  HttpError,
  listen,
  type RunningService,
  readJson,
  router,
  type StartOptions,
  sendError,
  sendJson,
} from './http.ts';
import { shipmentsApi } from './shipments.ts';

export interface PartnerBehaviour {
  /** Share of `/rates` requests answered with `failStatus`, 0..1; 0 and 1 are deterministic. */
  failRate: number;
  failStatus: number;
  /** Added before every `/rates` answer (and before a reset or failure). */
  latencyMs: number;
  /** Never answer `/rates`: the request stays open until the client or the service gives up. */
  hang: boolean;
  /** Share of `/rates` requests whose connection is reset instead of answered, 0..1. */
  resetRate: number;
  /** Sent as `Retry-After` (RFC 9110 §10.2.3) on failure answers; null sends none. */
  retryAfterS: number | null;
  /** `/health` answers 503 when set, for active health-check demos. */
  failHealth: boolean;
  /** `/rates` requests served per `rateLimitWindowMs`; the rest get 429. null: no limit. */
  rateLimit: number | null;
  /** Fixed windows, aligned on the partner's clock (as GitHub's hourly quota resets on the hour). */
  rateLimitWindowMs: number;
}

export const defaultBehaviour: Readonly<PartnerBehaviour> = Object.freeze({
  failRate: 0,
  failStatus: 503,
  latencyMs: 0,
  hang: false,
  resetRate: 0,
  retryAfterS: null,
  failHealth: false,
  rateLimit: 100,
  rateLimitWindowMs: 60_000,
});

export interface PartnerStats {
  /** Every `/rates` request that arrived, whatever became of it. */
  requests: number;
  ok: number;
  failed: number;
  reset: number;
  hung: number;
  /** Refused with 429 by the rate limit; never reached the other behaviours. */
  limited: number;
}

export interface PartnerOptions extends StartOptions {
  /** A number in [0, 1) per roll, like `Math.random`; tests script it. */
  random?: () => number;
  /** Milliseconds, like `Date.now`; tests script it to cross rate-limit windows. */
  now?: () => number;
  /** The behaviour at start, and the one `DELETE /_control` restores; unset fields are the defaults. */
  behaviour?: Partial<PartnerBehaviour>;
  /** How often a shipment moves on by itself (shipments.ts); default 10000, 0: never. */
  shipmentsTickMs?: number;
}

const RATES = { EUR: 0.92, GBP: 0.79, JPY: 151.4, CHF: 0.88 };

type Check = (v: unknown) => boolean;
const rate: Check = (v) => typeof v === 'number' && v >= 0 && v <= 1;
const FIELDS: Record<keyof PartnerBehaviour, [Check, string]> = {
  failRate: [rate, 'a number from 0 to 1'],
  failStatus: [
    (v) => Number.isInteger(v) && (v as number) >= 400 && (v as number) <= 599,
    'a status 400..599',
  ],
  latencyMs: [(v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 600_000, 'ms, 0..600000'],
  hang: [(v) => typeof v === 'boolean', 'a boolean'],
  resetRate: [rate, 'a number from 0 to 1'],
  retryAfterS: [(v) => v === null || (Number.isInteger(v) && (v as number) >= 0), 'whole seconds or null'],
  failHealth: [(v) => typeof v === 'boolean', 'a boolean'],
  rateLimit: [
    (v) => v === null || (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1_000_000),
    'requests per window, 1..1000000, or null',
  ],
  rateLimitWindowMs: [
    (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 86_400_000,
    'ms, 1..86400000',
  ],
};

function problemsOf(body: object): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    const field = FIELDS[key as keyof PartnerBehaviour];
    if (field === undefined) problems.push(`${key} is not a setting`);
    else if (!field[0](value)) problems.push(`${key} must be ${field[1]}`);
  }
  return problems;
}

/** A partial update of the behaviour; all-or-nothing, so a typo never half-applies. */
export function parseControl(body: unknown): Partial<PartnerBehaviour> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_control', 'expected a JSON object');
  }
  const problems = problemsOf(body);
  if (problems.length > 0) throw new HttpError(400, 'invalid_control', problems.join('; '));
  return body as Partial<PartnerBehaviour>;
}

/**
 * The rate limit from the environment: DEMO_PARTNER_LIMIT (requests, or `off`) per
 * DEMO_PARTNER_WINDOW_MS; unset ones keep the defaults (100 per 60000 ms).
 * @example
 * behaviourFromEnv({ DEMO_PARTNER_LIMIT: '10', DEMO_PARTNER_WINDOW_MS: '1000' }); // { rateLimit: 10, rateLimitWindowMs: 1000 }
 */
export function behaviourFromEnv(env: Record<string, string | undefined>): Partial<PartnerBehaviour> {
  const out: Partial<PartnerBehaviour> = {};
  const limit = env.DEMO_PARTNER_LIMIT;
  const windowMs = env.DEMO_PARTNER_WINDOW_MS;
  if (limit !== undefined && limit !== '') out.rateLimit = limit === 'off' ? null : Number(limit);
  if (windowMs !== undefined && windowMs !== '') out.rateLimitWindowMs = Number(windowMs);
  const problems = problemsOf(out);
  if (problems.length > 0) {
    throw new RangeError(`DEMO_PARTNER_LIMIT / DEMO_PARTNER_WINDOW_MS: ${problems.join('; ')}`);
  }
  return out;
}

/**
 * Starts the partner with the default behaviour (healthy, instant, 100 requests a minute), or with
 * `options.behaviour` over it.
 * @example
 * const partner = await start({ port: 0 });
 * await fetch(`${partner.url}/_control`, { method: 'POST', body: JSON.stringify({ failRate: 1 }) });
 * (await fetch(`${partner.url}/rates`)).status; // 503
 */
export function start(options: PartnerOptions): Promise<RunningService> {
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const problems = problemsOf(options.behaviour ?? {});
  if (problems.length > 0) return Promise.reject(new RangeError(`partner behaviour: ${problems.join('; ')}`));
  const initial: PartnerBehaviour = { ...defaultBehaviour, ...options.behaviour };
  let behaviour: PartnerBehaviour = { ...initial };
  const zero = (): PartnerStats => ({ requests: 0, ok: 0, failed: 0, reset: 0, hung: 0, limited: 0 });
  const stats = zero();
  // `random() < rate` is never true at 0 and always at 1 (random() < 1): deterministic ends.
  const roll = (r: number) => random() < r;
  /** The current window's count; a new window, or a new window length, starts from zero. */
  let quota = { windowMs: 0, index: 0, used: 0 };
  const shipments = shipmentsApi({ tickMs: options.shipmentsTickMs ?? 10_000 });

  /**
   * Counts the request against the limit and labels the answer with the quota (draft-10 §3-4: `q`
   * per `w` seconds, `r` left, `t` seconds until it resets); false when it is over the limit.
   */
  const admit = (b: PartnerBehaviour, res: http.ServerResponse): boolean => {
    if (b.rateLimit === null) return true;
    const at = now();
    const index = Math.floor(at / b.rateLimitWindowMs);
    if (quota.windowMs !== b.rateLimitWindowMs || quota.index !== index) {
      quota = { windowMs: b.rateLimitWindowMs, index, used: 0 };
    }
    const resetS = Math.ceil(((index + 1) * b.rateLimitWindowMs - at) / 1000);
    const allowed = quota.used < b.rateLimit;
    if (allowed) quota.used++;
    res.setHeader(
      'ratelimit-policy',
      `"partner";q=${b.rateLimit};w=${Math.ceil(b.rateLimitWindowMs / 1000)}`,
    );
    res.setHeader('ratelimit', `"partner";r=${b.rateLimit - quota.used};t=${resetS}`);
    if (!allowed) res.setHeader('retry-after', String(resetS));
    return allowed;
  };

  const rates = (req: http.IncomingMessage, res: http.ServerResponse) => {
    stats.requests++;
    const b = behaviour; // a control change mid-request does not split one answer between two settings
    // The partner's edge refuses before its backend sees the request: no latency, fault or hang.
    if (!admit(b, res)) {
      stats.limited++;
      sendError(res, 429, 'rate_limited', `more than ${b.rateLimit} requests in ${b.rateLimitWindowMs} ms`);
      return;
    }
    if (b.hang) {
      stats.hung++;
      return; // closeAllConnections() on close, or the client, ends it
    }
    const answer = () => {
      if (roll(b.resetRate)) {
        stats.reset++;
        // RST rather than FIN: what a crashed partner or a middlebox dropping state looks like (ECONNRESET).
        req.socket.resetAndDestroy();
        return;
      }
      if (roll(b.failRate)) {
        stats.failed++;
        if (b.retryAfterS !== null) res.setHeader('retry-after', String(b.retryAfterS));
        sendError(res, b.failStatus, 'partner_failure', `injected failure (failRate ${b.failRate})`);
        return;
      }
      stats.ok++;
      sendJson(res, 200, { base: 'USD', rates: RATES, asOf: new Date().toISOString() });
    };
    if (b.latencyMs === 0) return answer();
    const timer = setTimeout(answer, b.latencyMs);
    // A client that gave up (a gateway timeout) must not leave a timer writing to a dead socket.
    res.once('close', () => clearTimeout(timer));
  };

  const health = (res: http.ServerResponse) =>
    behaviour.failHealth ? sendJson(res, 503, { status: 'failing' }) : sendJson(res, 200, { status: 'ok' });

  const server = http.createServer(
    router([
      { method: 'GET', path: '/rates', handle: ({ req, res }) => rates(req, res) },
      { method: 'GET', path: '/health', handle: ({ res }) => health(res) },
      // Shadows the common /healthz, so a checker pointed at either sees the same answer.
      { method: 'GET', path: '/healthz', handle: ({ res }) => health(res) },
      { method: 'GET', path: '/_control', handle: ({ res }) => sendJson(res, 200, behaviour) },
      {
        method: 'POST',
        path: '/_control',
        handle: async ({ req, res }) => {
          behaviour = { ...behaviour, ...parseControl(await readJson(req)) };
          sendJson(res, 200, behaviour);
        },
      },
      {
        method: 'DELETE',
        path: '/_control',
        handle: ({ res }) => {
          behaviour = { ...initial };
          Object.assign(stats, zero());
          quota = { windowMs: 0, index: 0, used: 0 };
          sendJson(res, 200, behaviour);
        },
      },
      { method: 'GET', path: '/_stats', handle: ({ res }) => sendJson(res, 200, stats) },
      ...shipments.routes,
    ]),
  );
  return listen(server, options, shipments.stop);
}
