/**
 * Background refresh for stale-while-revalidate (RFC 5861 §3): the client gets the stale entry at
 * once and one request refreshes it behind its back.
 *
 * A policy cannot call the upstream itself (the route's handler owns the upstream, its balancer and
 * its resilience), so the refresh is a request to this gateway's own listener — the address the
 * client's request arrived on — carrying `x-junction-cache-refresh: <token>`. The route runs as for
 * any request (the client's headers are copied, so authentication policies see the same
 * credentials); the cache policy recognises the token, revalidates with the stored validators,
 * stores the answer and replies 204 to the loopback. The token is random per process, so no client
 * can forge a refresh, and the header never reaches the upstream.
 *
 * This is a workaround until the core offers a sub-request (docs/cache.md, "What the core could give").
 */
import { request } from 'node:http';
import type { RequestContext } from '../../../core/policy.ts';

export const REFRESH_HEADER = 'x-junction-cache-refresh';

/** A refresh that takes longer is abandoned; the next stale hit may start another. */
const REFRESH_TIMEOUT_MS = 30_000;

/** Request fields not copied: per-connection, conditional (ours replace them) and cache directives. */
const NOT_COPIED = new Set([
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'expect',
  'upgrade',
  'cache-control',
  'pragma',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
]);

export interface LoopbackRequest {
  host: string | undefined;
  port: number | undefined;
  path: string;
  headers: Record<string, string | string[]>;
}

/**
 * The refresh request for this client request, taken while the request is current: by the time the
 * refresh starts the client's socket may be closed and its addresses gone.
 */
export function loopbackRequest(ctx: RequestContext, token: string): LoopbackRequest {
  const headers: Record<string, string | string[]> = {};
  for (const name in ctx.headers) {
    const v = ctx.headers[name];
    if (v !== undefined && !NOT_COPIED.has(name)) headers[name] = v;
  }
  headers[REFRESH_HEADER] = token;
  headers.connection = 'close';
  const socket = ctx.req.socket;
  return { host: socket.localAddress, port: socket.localPort, path: ctx.path + ctx.query, headers };
}

/** Sends the refresh; resolves when it has finished, whatever its outcome, and never rejects. */
export function sendLoopback(r: LoopbackRequest): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: r.host,
        port: r.port,
        method: 'GET',
        path: r.path,
        headers: r.headers,
        agent: false,
        timeout: REFRESH_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.once('end', resolve);
        res.once('error', () => resolve());
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve());
    req.once('close', () => resolve());
    req.end();
  });
}
