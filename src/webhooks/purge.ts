/**
 * The purge (Q48 and payload retention): removes applications and endpoints deleted longer ago than
 * `deletedRetentionMs` (what they own goes with them) and drops message payloads older than
 * `payloadRetentionMs`. Runs in batches of 500 short statements, so it never holds a long lock. A
 * running gateway runs it every hour (`startPurgeTimer`); several nodes running it at once only
 * find less to remove.
 */
import type { Logger } from '../core/logger.ts';
import type { Store } from '../store/index.ts';
import type { WebhookSettings } from './settings.ts';

export interface PurgeResult {
  apps: number;
  endpoints: number;
  payloads: number;
}

const BATCH = 500;

/**
 * @example
 * const { apps, endpoints, payloads } = await purgeWebhooks(store, settings);
 */
export async function purgeWebhooks(
  store: Pick<Store, 'webhooks'>,
  settings: Pick<WebhookSettings, 'deletedRetentionMs' | 'payloadRetentionMs'>,
  now: number = Date.now(),
): Promise<PurgeResult> {
  const { apps, endpoints, messages } = store.webhooks;
  const drain = async (step: () => Promise<number>) => {
    let total = 0;
    for (;;) {
      const n = await step();
      total += n;
      if (n < BATCH) return total;
    }
  };
  const deletedBefore = now - settings.deletedRetentionMs;
  return {
    apps: await drain(() => apps.purge(deletedBefore, BATCH)),
    endpoints: await drain(() => endpoints.purge(deletedBefore, BATCH)),
    payloads: await drain(() => messages.purgePayloads(now - settings.payloadRetentionMs, BATCH)),
  };
}

/** How often a running gateway purges. */
export const PURGE_INTERVAL_MS = 3_600_000;

export interface PurgeTimer {
  /** Stops the timer and waits for a purge in progress, so the store can close after it. */
  stop(): Promise<void>;
}

/**
 * Purges every `intervalMs` (unref'd: it never keeps the process alive) with the settings of the
 * moment, so a reload that changes the retentions applies on the next run.
 * @example
 * const purge = startPurgeTimer(store, () => loaded.config.webhooks, logger);
 * await purge.stop(); // before the store closes
 */
export function startPurgeTimer(
  store: Pick<Store, 'webhooks'>,
  settings: () => Pick<WebhookSettings, 'deletedRetentionMs' | 'payloadRetentionMs'>,
  logger: Logger,
  intervalMs: number = PURGE_INTERVAL_MS,
): PurgeTimer {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = purgeWebhooks(store, settings())
      .then((removed) => {
        if (removed.apps + removed.endpoints + removed.payloads > 0)
          logger.info({ removed }, 'webhooks: purged deleted applications, endpoints and old payloads');
      })
      .catch((err: unknown) => logger.warn({ err }, 'webhooks: the purge failed; it runs again later'))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
