/**
 * One pull source's loop. Only the node holding the source's lease in the store polls it
 * (src/store/poll-cursors.ts: fenced leases); the others ask for the lease every interval, so one
 * takes over within an interval of a release, or within the lease's TTL of a crash.
 *
 * The lease lives for 3 intervals plus one request timeout, renewed before every request: a poll
 * that reads many slow or paced pages keeps it, and a node that stops renewing loses it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PollerConfig } from '../../config/events-schema.ts';
import { isJunctionError, JunctionError } from '../../core/errors.ts';
import { type Logger, throttledWarn } from '../../core/logger.ts';
import type { PollLease, Store } from '../../store/index.ts';
import type { EventIntake } from '../pipeline.ts';
import { PollLeaseLost } from './errors.ts';
import { createPageFetcher } from './fetch.ts';
import type { PollerMetrics } from './metrics.ts';
import { pollOnce } from './poll.ts';

export interface PollerOptions {
  name: string;
  config: PollerConfig;
  store: Pick<Store, 'pollCursors'>;
  intake: EventIntake;
  /** Unique per node (and per gateway in one process): the lease holder's name. */
  owner: string;
  logger: Logger;
  metrics: PollerMetrics;
}

export interface Poller {
  readonly config: PollerConfig;
  /** Stops polling (an in-flight request is aborted) and gives the lease back. */
  close(): Promise<void>;
}

export function startPoller(options: PollerOptions): Poller {
  const { name, config, store, owner, metrics } = options;
  const logger = options.logger.child({ source: name });
  const warn = throttledWarn(logger);
  const fetcher = createPageFetcher(name, config);
  const stop = new AbortController();
  const ttlMs = 3 * config.intervalMs + config.timeoutMs;
  const leaseHeld = metrics.leaseHeld.labels({ source: name });
  let lease: PollLease | undefined;

  const setLease = (next: PollLease | undefined) => {
    if ((next === undefined) !== (lease === undefined)) {
      logger.info({ owner }, next ? 'poll: lease taken, this node polls' : 'poll: lease gone');
    }
    lease = next;
    leaseHeld.set(next ? 1 : 0);
  };

  const hold = async (): Promise<PollLease> => {
    const renewed = lease && (await store.pollCursors.renew(lease, ttlMs));
    setLease(renewed);
    if (renewed === undefined) throw new JunctionError(PollLeaseLost, 'another node holds the lease now');
    return renewed;
  };

  const cycle = async (): Promise<number> => {
    setLease(
      (lease && (await store.pollCursors.renew(lease, ttlMs))) ??
        (await store.pollCursors.acquireLease(name, owner, ttlMs)),
    );
    if (lease === undefined) return config.intervalMs;
    try {
      const summary = await pollOnce({
        name,
        config,
        store,
        intake: options.intake,
        fetcher,
        hold,
        maxInlineWaitMs: Math.min(60_000, ttlMs / 2),
        signal: stop.signal,
        logger,
        count: (result) => metrics.items.inc({ source: name, result }),
      });
      metrics.polls.inc({ source: name, result: summary.result });
      logger.debug(summary, 'poll: done');
      return config.intervalMs;
    } catch (err) {
      if (stop.signal.aborted) return 0;
      const code = isJunctionError(err) ? err.code : 'internal_error';
      metrics.polls.inc({ source: name, result: code === PollLeaseLost.code ? 'lease_lost' : 'error' });
      metrics.errors.inc({ source: name, code });
      warn(err, `poll: failed (${code})`);
      // A 429 with a long Retry-After postpones the next poll past the interval.
      const retryAfterMs = isJunctionError(err) ? err.extensions?.retryAfterMs : undefined;
      return Math.max(config.intervalMs, typeof retryAfterMs === 'number' ? retryAfterMs : 0);
    }
  };

  const loop = (async () => {
    while (!stop.signal.aborted) {
      let waitMs = config.intervalMs;
      try {
        waitMs = await cycle();
      } catch (err) {
        // The store itself failed (acquire/renew): try again next interval.
        metrics.errors.inc({ source: name, code: isJunctionError(err) ? err.code : 'store_unavailable' });
        warn(err, 'poll: lease not acquired or renewed');
      }
      await sleep(waitMs, undefined, { signal: stop.signal }).catch(() => {});
    }
    if (lease !== undefined) await store.pollCursors.release(lease).catch(() => false);
    setLease(undefined);
  })();

  let closing: Promise<void> | undefined;
  return {
    config,
    close() {
      closing ??= (async () => {
        stop.abort();
        await loop;
        await fetcher.close();
      })();
      return closing;
    },
  };
}
