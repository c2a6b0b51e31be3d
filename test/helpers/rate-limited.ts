/**
 * A partner API with a strict rate limit, as most publish one ("100 requests per minute"): a fixed
 * window on its own clock, 429 with `Retry-After` beyond it. Scaled down in time for tests. Records
 * every arrival, so a test can count per window and look for gaps.
 */
import type { IncomingMessage } from 'node:http';
import type { TestContext } from 'node:test';
import { startUpstream, type TestUpstream } from './upstream.ts';

export interface Arrival {
  at: number;
  status: number;
}

export interface RateLimitedPartner {
  up: TestUpstream;
  arrivals: Arrival[];
  /** The most requests any one window received, 429s included. */
  busiestWindow(): number;
  throttled(): number;
}

export async function startRateLimitedPartner(
  t: TestContext,
  options: {
    limit: number;
    windowMs: number;
    /** Answers 429 with `Retry-After: <s>` to this request (1-based), whatever the count. */
    throttle?: { nth: number; retryAfterS: number };
  },
): Promise<RateLimitedPartner> {
  const { limit, windowMs } = options;
  const arrivals: Arrival[] = [];
  const perWindow = new Map<number, number>();
  const up = await startUpstream(t, (req: IncomingMessage, res) => {
    req.resume();
    const at = Date.now();
    const window = Math.floor(at / windowMs);
    const count = (perWindow.get(window) ?? 0) + 1;
    perWindow.set(window, count);
    const forced = options.throttle?.nth === arrivals.length + 1;
    const status = count > limit || forced ? 429 : 200;
    arrivals.push({ at, status });
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (status === 429) {
      const retryAfterS = forced
        ? options.throttle!.retryAfterS
        : Math.ceil(((window + 1) * windowMs - at) / 1000);
      headers['retry-after'] = String(retryAfterS);
    }
    const body = status === 429 ? 'slow down' : 'ok';
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return {
    up,
    arrivals,
    busiestWindow: () => Math.max(0, ...perWindow.values()),
    throttled: () => arrivals.filter((a) => a.status === 429).length,
  };
}
