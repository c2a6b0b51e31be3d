/**
 * One GET of a polled list, through the poller's own undici Agent (keep-alive to the API between
 * polls; an Agent rather than a Pool because a `next` link may name another origin) and, when the
 * config gives the API's `rate`, through a pacer (src/resilience/pacer.ts) that spaces every request
 * of every poll under it and slows down on 429 / Retry-After / RateLimit headers.
 */
import { Agent, request } from 'undici';
import type { PollerConfig } from '../../config/events-schema.ts';
import { JunctionError } from '../../core/errors.ts';
import { createPacer, type Pacer, pacingFeedback } from '../../resilience/index.ts';
import { PollRequestFailed } from './errors.ts';

export type PageHeaders = Record<string, string | string[] | undefined>;

export interface Page {
  /** The URL requested: relative `next` links resolve against it. */
  url: string;
  status: number;
  headers: PageHeaders;
  /** Empty for a 304. */
  body: string;
}

export interface PageFetcher {
  get(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Page>;
  close(): Promise<void>;
}

/** A page larger than this is refused (undici `maxResponseSize`): list pages are kilobytes. */
const MAX_PAGE_BYTES = 32 * 1024 * 1024;
/**
 * The pacer never refuses a poll for waiting too long: nobody waits for a poll but the poller, and
 * closing aborts the wait. One poller per source per node means one call in its queue at most.
 */
const PACER_MAX_WAIT_MS = 86_400_000;

export function createPageFetcher(name: string, config: PollerConfig): PageFetcher {
  const agent = new Agent({
    connectTimeout: config.timeoutMs,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    maxResponseSize: MAX_PAGE_BYTES,
  });
  const pacer: Pacer<Page> | undefined =
    config.rate === undefined
      ? undefined
      : createPacer<Page>({
          requests: config.rate.requests,
          perMs: config.rate.perMs,
          maxQueue: 1,
          maxWaitMs: PACER_MAX_WAIT_MS,
          name: `poller ${name}`,
          feedback: (o, now) => (o.ok ? pacingFeedback(o.value.status, o.value.headers, now) : undefined),
        });

  async function once(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Page> {
    // The timeout covers one request, not the wait for its pacing slot.
    const timeout = AbortSignal.timeout(config.timeoutMs);
    try {
      const res = await request(url, {
        method: 'GET',
        headers,
        dispatcher: agent,
        signal: AbortSignal.any([signal, timeout]),
      });
      if (res.statusCode === 304) {
        await res.body.dump();
        return { url, status: 304, headers: res.headers, body: '' };
      }
      return { url, status: res.statusCode, headers: res.headers, body: await res.body.text() };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const code = (err as { code?: string }).code;
      const why = timeout.aborted
        ? `no complete response within ${config.timeoutMs} ms`
        : `${code === undefined ? '' : `${code}: `}${(err as Error).message}`;
      throw new JunctionError(PollRequestFailed, `GET ${redactUrl(url)}: ${why}`, { cause: err });
    }
  }

  return {
    get(url, headers, signal) {
      if (pacer === undefined) return once(url, headers, signal);
      return pacer.execute(({ signal: s }) => once(url, headers, s), signal);
    },
    close: () => agent.close(),
  };
}

/** The URL without credentials in it, for log lines. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
  }
  return u.href;
}
