/**
 * The purge (Q48 and payload retention): removes applications and endpoints deleted longer ago than
 * `deletedRetentionMs` (what they own goes with them) and drops message payloads older than
 * `payloadRetentionMs`. Runs in batches of 500 short statements, so it never holds a long lock; run it
 * from a timer or `junction` command (part 2 schedules it).
 */
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
