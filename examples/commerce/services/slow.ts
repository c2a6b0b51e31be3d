/**
 * The demo's slow service, for the bulkhead demo: `GET /slow?ms=N` holds its request open N ms
 * (default 2000) before answering, so a handful of calls can fill a concurrency limit. `/health`
 * answers at once. `/_stats` shows how many requests are being held right now, which is what a
 * bulkhead is supposed to bound.
 */
import http from 'node:http';
import { HttpError, listen, type RunningService, router, type StartOptions, sendJson } from './http.ts';

export const DEFAULT_SLOW_MS = 2000;
/** Ten minutes: a hold longer than any demo needs would only pin sockets. */
const MAX_SLOW_MS = 600_000;

function holdFor(url: URL): number {
  const raw = url.searchParams.get('ms');
  if (raw === null || raw === '') return DEFAULT_SLOW_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_SLOW_MS) {
    throw new HttpError(400, 'invalid_ms', `ms must be an integer from 0 to ${MAX_SLOW_MS}`);
  }
  return ms;
}

/**
 * @example
 * const slow = await start({ port: 0 });
 * await fetch(`${slow.url}/slow?ms=500`); // about half a second later: { heldMs: 500 }
 * await slow.close();
 */
export function start(options: StartOptions): Promise<RunningService> {
  const stats = { inFlight: 0, maxInFlight: 0, served: 0 };
  const server = http.createServer(
    router([
      {
        method: 'GET',
        path: '/slow',
        handle: ({ res, url }) => {
          const ms = holdFor(url);
          stats.inFlight++;
          stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
          const timer = setTimeout(() => {
            stats.served++;
            sendJson(res, 200, { heldMs: ms });
          }, ms);
          // Counted out however the exchange ends; a client that left releases its timer.
          res.once('close', () => {
            clearTimeout(timer);
            stats.inFlight--;
          });
        },
      },
      { method: 'GET', path: '/health', handle: ({ res }) => sendJson(res, 200, { status: 'ok' }) },
      { method: 'GET', path: '/_stats', handle: ({ res }) => sendJson(res, 200, stats) },
    ]),
  );
  return listen(server, options);
}
