/**
 * One poll of a pull source (Q9): GET the list (with the stored cursor as a query parameter and the
 * stored ETag as `If-None-Match`), follow `rel="next"` links up to `maxPages`, hand every item to
 * the intake as an event, and only then store the new cursor and ETag under the lease.
 *
 * Crash safety is at-least-once: a poll that dies after some items were accepted but before the
 * cursor is stored reads the same items again next time, and the intake's dedupe (the unique
 * `(source, external_id)` index) turns them into duplicates, not new events. Nothing is skipped,
 * because the cursor only moves after everything before it is stored.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PollerConfig } from '../../config/events-schema.ts';
import { isJunctionError, JunctionError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { parseRetryAfter } from '../../resilience/index.ts';
import type { PollCursor, PollLease, Store } from '../../store/index.ts';
import { EventInvalid } from '../errors.ts';
import type { EventIntake } from '../pipeline.ts';
import { PollLeaseLost, PollResponseInvalid, PollStatusUnexpected, PollThrottled } from './errors.ts';
import type { Page, PageFetcher } from './fetch.ts';
import { type CursorValue, externalIdOf, itemsAt, laterCursor } from './items.ts';
import { nextPageUrl } from './link.ts';
import type { ItemResult } from './metrics.ts';

export interface PollDeps {
  name: string;
  config: PollerConfig;
  store: Pick<Store, 'pollCursors'>;
  intake: EventIntake;
  fetcher: PageFetcher;
  /** Renews the lease and returns it; throws `poll_lease_lost` when another node holds it now. */
  hold(): Promise<PollLease>;
  /** A 429 asking to wait at most this long is waited out within the poll; longer ends the poll. */
  maxInlineWaitMs: number;
  signal: AbortSignal;
  logger: Logger;
  count(result: ItemResult): void;
}

export interface PollSummary {
  result: 'changed' | 'unchanged' | 'not_modified';
  pages: number;
  items: Record<ItemResult, number>;
  /** `maxPages` were read and there was a next page still. */
  truncated: boolean;
}

/** Times a throttled page is asked for again within one poll before the poll gives up. */
const THROTTLED_RETRIES = 3;
const CONTENT_TYPE = { 'content-type': 'application/json' };

export async function pollOnce(deps: PollDeps): Promise<PollSummary> {
  const { config } = deps;
  const position: PollCursor | undefined = await deps.store.pollCursors.get(deps.name);
  const first = new URL(config.url);
  let cursor: CursorValue | undefined;
  if (config.cursor !== undefined && position?.cursor != null) {
    cursor = position.cursor;
    first.searchParams.set(config.cursor.param, position.cursor);
  }
  const headers: Record<string, string> = { accept: 'application/json', ...config.headers };
  const conditional = config.etag && position?.etag != null;
  const items: Record<ItemResult, number> = { new: 0, duplicate: 0, invalid: 0 };
  let url: string | undefined = first.href;
  let etag: string | null = null;
  let pages = 0;
  for (; url !== undefined && pages < config.maxPages; pages++) {
    const ask = pages === 0 && conditional ? { ...headers, 'if-none-match': position!.etag! } : headers;
    const page = await fetchPage(deps, url, ask);
    if (page.status === 304 && pages === 0 && conditional) {
      return { result: 'not_modified', pages: 1, items, truncated: false };
    }
    if (page.status < 200 || page.status > 299) {
      throw new JunctionError(PollStatusUnexpected, `HTTP ${page.status}: ${page.body.slice(0, 200)}`, {
        extensions: { status: page.status },
      });
    }
    if (pages === 0) etag = single(page.headers.etag) ?? null;
    for (const item of itemsAt(parseJson(page.body), config.items)) {
      deps.signal.throwIfAborted();
      const result = await acceptItem(deps, item);
      items[result]++;
      deps.count(result);
      if (config.cursor !== undefined && result !== 'invalid')
        cursor = laterCursor(cursor, item, config.cursor.field);
    }
    url = config.nextPage === 'link' ? nextPageUrl(page.headers.link, page.url) : undefined;
  }
  const truncated = url !== undefined;
  if (truncated) {
    deps.logger.warn(
      { source: deps.name, maxPages: config.maxPages },
      'poll: stopped at maxPages with more pages left; the rest is read from the cursor on the next poll, or never without one',
    );
  }
  const stored = await deps.store.pollCursors.set(await deps.hold(), {
    cursor: config.cursor === undefined || cursor === undefined ? null : String(cursor),
    // The ETag is the first page's: with pages left unread, a 304 next time would hide them.
    etag: config.etag && !truncated ? etag : null,
  });
  if (!stored) throw new JunctionError(PollLeaseLost, 'the cursor was not stored: another node polls now');
  return { result: items.new > 0 ? 'changed' : 'unchanged', pages, items, truncated };
}

/** GETs a page; waits out a short `Retry-After` and asks again, or ends the poll as throttled. */
async function fetchPage(deps: PollDeps, url: string, headers: Record<string, string>): Promise<Page> {
  for (let retry = 0; ; retry++) {
    await deps.hold();
    const page = await deps.fetcher.get(url, headers, deps.signal);
    const retryAfter = parseRetryAfter(page.headers['retry-after'], Date.now());
    if (page.status !== 429 && !(page.status === 503 && retryAfter !== undefined)) return page;
    const waitMs = retryAfter ?? deps.config.intervalMs;
    if (retry >= THROTTLED_RETRIES || waitMs > deps.maxInlineWaitMs) {
      throw new JunctionError(PollThrottled, `HTTP ${page.status}, asked to wait ${waitMs} ms`, {
        extensions: { retryAfterMs: waitMs },
      });
    }
    deps.logger.info({ source: deps.name, status: page.status, waitMs }, 'poll: throttled, waiting');
    await sleep(waitMs, undefined, { signal: deps.signal });
  }
}

async function acceptItem(deps: PollDeps, item: unknown): Promise<ItemResult> {
  const externalId = externalIdOf(item, deps.config);
  if (externalId === undefined) {
    deps.logger.warn(
      { source: deps.name, id: deps.config.id, version: deps.config.version },
      'poll: item without a usable id (or version) skipped',
    );
    return 'invalid';
  }
  try {
    const r = await deps.intake.accept({
      source: deps.name,
      type: deps.config.type,
      externalId,
      payload: JSON.stringify(item),
      headers: CONTENT_TYPE,
    });
    return r.duplicate ? 'duplicate' : 'new';
  } catch (err) {
    // A refusal of this item (an id or type the store cannot take) will not change on the next poll;
    // keeping the poll stuck on it would block every item after it (a poison item, Q24).
    if (isJunctionError(err) && err.code === EventInvalid.code) {
      deps.logger.error({ source: deps.name, externalId, err }, 'poll: item refused by the intake, skipped');
      return 'invalid';
    }
    throw err;
  }
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new JunctionError(PollResponseInvalid, `the body is not JSON: ${(err as Error).message}`);
  }
}

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
