/**
 * Shared pieces of the `core.cache` end-to-end tests: a gateway with one cached route in front of
 * a recording upstream (stores closed by `t.after`), and small polling and counting helpers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { closeCacheStores } from '../../src/ingress/policies/cache/index.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';
import { startUpstream, type TestUpstream } from './upstream.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function cachedGateway(
  t: TestContext,
  handler: Handler,
  cache: Record<string, unknown> = {},
): Promise<{ up: TestUpstream; gw: TestGateway }> {
  const up = await startUpstream(t, handler);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'cached',
        match: { path: '/*' },
        proxy: { upstream: 'app' },
        policies: { 'core.cache': cache },
      },
    ],
  });
  t.after(() => closeCacheStores(gw.gateway.services));
  return { up, gw };
}

export function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Calls `fn` every `everyMs` until it returns a value, failing after `deadlineMs`. */
export async function until<T>(
  fn: () => Promise<T | undefined>,
  deadlineMs = 6000,
  everyMs = 150,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The `junction_cache_*` lines of the gateway's metrics (short assertion messages). */
export async function cacheMetricsText(gw: TestGateway): Promise<string> {
  const text = await gw.gateway.services.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('junction_cache_'))
    .join('\n');
}

export const gets = (up: TestUpstream, path: string) =>
  up.seen.filter((s) => s.method === 'GET' && s.url === path).length;
