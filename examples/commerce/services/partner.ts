/**
 * The demo's flaky third-party "partner" API: exchange rates behind the gateway's resilience
 * policies. `GET /rates` answers JSON — or fails, lags, hangs or resets the connection, as told at
 * runtime through `POST /_control`, so a demo can show retries, timeouts, circuit breaking and
 * Retry-After handling against a real socket. `/_control`, `/_stats` and `/health` are never
 * disturbed by the faults: the demo must always be able to steer and observe the partner.
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
}

export const defaultBehaviour: Readonly<PartnerBehaviour> = Object.freeze({
  failRate: 0,
  failStatus: 503,
  latencyMs: 0,
  hang: false,
  resetRate: 0,
  retryAfterS: null,
  failHealth: false,
});

export interface PartnerStats {
  /** Every `/rates` request that arrived, whatever became of it. */
  requests: number;
  ok: number;
  failed: number;
  reset: number;
  hung: number;
}

export interface PartnerOptions extends StartOptions {
  /** A number in [0, 1) per roll, like `Math.random`; tests script it. */
  random?: () => number;
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
};

/** A partial update of the behaviour; all-or-nothing, so a typo never half-applies. */
export function parseControl(body: unknown): Partial<PartnerBehaviour> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_control', 'expected a JSON object');
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    const field = FIELDS[key as keyof PartnerBehaviour];
    if (field === undefined) problems.push(`${key} is not a setting`);
    else if (!field[0](value)) problems.push(`${key} must be ${field[1]}`);
  }
  if (problems.length > 0) throw new HttpError(400, 'invalid_control', problems.join('; '));
  return body as Partial<PartnerBehaviour>;
}

/**
 * Starts the partner with the default (healthy, instant) behaviour.
 * @example
 * const partner = await start({ port: 0 });
 * await fetch(`${partner.url}/_control`, { method: 'POST', body: JSON.stringify({ failRate: 1 }) });
 * (await fetch(`${partner.url}/rates`)).status; // 503
 */
export function start(options: PartnerOptions): Promise<RunningService> {
  const random = options.random ?? Math.random;
  let behaviour: PartnerBehaviour = { ...defaultBehaviour };
  const stats: PartnerStats = { requests: 0, ok: 0, failed: 0, reset: 0, hung: 0 };
  // `random() < rate` is never true at 0 and always at 1 (random() < 1): deterministic ends.
  const roll = (r: number) => random() < r;

  const rates = (req: http.IncomingMessage, res: http.ServerResponse) => {
    stats.requests++;
    const b = behaviour; // a control change mid-request does not split one answer between two settings
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
          behaviour = { ...defaultBehaviour };
          Object.assign(stats, { requests: 0, ok: 0, failed: 0, reset: 0, hung: 0 });
          sendJson(res, 200, behaviour);
        },
      },
      { method: 'GET', path: '/_stats', handle: ({ res }) => sendJson(res, 200, stats) },
    ]),
  );
  return listen(server, options);
}
