/**
 * Delivering outbound webhook messages with the event hub's delivery worker (src/events/worker.ts):
 * a message's deliveries carry subscription `ep:<endpoint id>`, which no `events.subscriptions` entry
 * names, so the worker asks this resolver. It reads the endpoint (cached for a few seconds, so an
 * edit, a disable or a rotation takes effect within CACHE_TTL_MS), builds an HTTP destination from it
 * — URL, headers, and every secret that signs now (the current one and rotated-out ones in their
 * grace period) — and keeps one destination (one undici Pool) per endpoint until its settings change.
 *
 * - Disabled endpoints, soft-deleted endpoints and endpoints of a soft-deleted application are
 *   `'paused'`: their deliveries wait unsent (postponed, no attempt counted), so a restore resumes
 *   them; once purged they are gone and the worker dead-letters what is left.
 * - The receiver sees the message id as `webhook-id` (`msg_…`, the same Snowflake as the queue's
 *   `evt_…`), the stored payload byte for byte, and Standard Webhooks signatures.
 * - Every attempt is appended to the attempt log (status, HTTP status, duration, error with the first
 *   4 KiB of a refusal's body).
 * - Retries follow the settings' schedule (`retryScheduleMs` ± `retryJitter`, `Retry-After` up to
 *   `maxRetryAfterMs`, ≥ `slowDownMs` after 429, 502, 504 and timeouts), and attempts time out after
 *   `timeoutMs`. Endpoint rows have no schedule of their own yet: the settings' applies to all.
 * - A 410 Gone disables the endpoint (`disabled_at`, audited as a system action); the worker
 *   dead-letters that delivery and the endpoint's other deliveries wait as for any disabled endpoint.
 */
import { LRUCache } from 'lru-cache';
import type { Services } from '../core/services.ts';
import {
  createDestination,
  type DeliveryOutcome,
  type Destination,
  DestinationGone,
  type DestinationOptions,
  type OutgoingEvent,
} from '../events/destinations/index.ts';
import type { ResolvedTarget, TargetResolver } from '../events/worker-targets.ts';
import { messageIdOf, type Store, type WebhookApp, type WebhookEndpoint } from '../store/index.ts';
import { secretBoxOf } from './secret-box.ts';
import { signingSecrets } from './secrets.ts';
import type { WebhookSettings } from './settings.ts';
import { privateAllowed } from './url-guard.ts';
import { endpointView } from './views.ts';

/** The attempt log keeps this much of every answer's body (issue #7: ≤ 20 kB). */
export const MAX_RESPONSE_BODY_BYTES = 20_000;
/** How long an endpoint row is trusted before it is read again. */
export const CACHE_TTL_MS = 5_000;
/**
 * The worker's exponential backoff, required of every resolved target but unused: the resolver gives
 * the settings' explicit `schedule`, which the worker follows instead.
 */
export const DEFAULT_RETRY = { maxAttempts: 8, initialMs: 5_000, maxMs: 36_000_000 };
const PREFIX = 'ep:';

export interface EndpointResolver extends TargetResolver {
  /** Closes every destination (after their attempts in flight). */
  close(): Promise<void>;
}

export interface EndpointResolverOptions {
  store: Pick<Store, 'webhooks'>;
  services: Pick<Services, 'ids' | 'logger' | 'audit'>;
  settings: () => WebhookSettings;
  destinationOptions?: DestinationOptions;
  now?: () => number;
}

interface Built {
  key: string;
  destination: Destination;
}

/** How long an idle worker trusts "no live endpoint" before asking the store again. */
const ACTIVE_TTL_MS = 2_000;

/**
 * @example
 * const resolver = createEndpointResolver({ store, services, settings: () => settings });
 * const worker = startDeliveryWorker({ config, store, services, owner, resolver });
 */
export function createEndpointResolver(options: EndpointResolverOptions): EndpointResolver {
  const { store, services } = options;
  const now = options.now ?? Date.now;
  const rows = new LRUCache<string, { endpoint?: WebhookEndpoint; app?: WebhookApp }>({
    max: 10_000,
    ttl: CACHE_TTL_MS,
  });
  const built = new Map<string, Built>();
  const closing = new Set<Promise<void>>();

  function retire(b: Built): void {
    const p = b.destination
      .close()
      .catch((err: unknown) => services.logger.warn({ err }, 'closing an endpoint failed'));
    closing.add(p);
    void p.finally(() => closing.delete(p));
  }

  async function load(id: string) {
    const hit = rows.get(id);
    if (hit !== undefined) return hit;
    const endpoint = await store.webhooks.endpoints.byId(id);
    const app = endpoint && (await store.webhooks.apps.get(endpoint.appId, { deleted: true }));
    const entry = { endpoint, app };
    rows.set(id, entry);
    return entry;
  }

  function destinationOf(ep: WebhookEndpoint, settings: WebhookSettings): Destination {
    const block = {
      type: 'http',
      url: ep.url,
      secrets: signingSecrets(ep, now(), secretBoxOf(settings)),
      headers: ep.headers,
      allowPrivateNetworks: privateAllowed(ep.url, settings),
      timeoutMs: settings.timeoutMs,
      maxRetryAfterMs: settings.maxRetryAfterMs,
    };
    const key = JSON.stringify(block);
    const current = built.get(ep.id);
    if (current?.key === key) return current.destination;
    if (current) retire(current);
    const destination = createDestination(block, {
      ...options.destinationOptions,
      http: { ...options.destinationOptions?.http, captureResponseBytes: MAX_RESPONSE_BODY_BYTES },
    });
    built.set(ep.id, { key, destination });
    return destination;
  }

  async function logAttempt(ep: WebhookEndpoint, messageId: string, outcome: DeliveryOutcome) {
    try {
      await store.webhooks.messages.recordAttempt(
        {
          appId: ep.appId,
          messageId,
          endpointId: ep.id,
          status: outcome.kind === 'delivered' ? 'succeeded' : 'failed',
          responseStatus: outcome.status ?? null,
          responseHeaders: outcome.response?.headers ?? null,
          responseBody: outcome.response?.body ?? null,
          durationMs: outcome.ms,
          error: outcome.kind === 'delivered' ? null : `${outcome.code}: ${outcome.error}`,
        },
        services.ids,
        now(),
      );
    } catch (err) {
      // The log is for people; a message purged meanwhile must not fail the delivery.
      services.logger.warn(
        { err, endpoint: ep.id, message: messageId },
        'recording a webhook attempt failed',
      );
    }
  }

  // "Any live endpoint?" for an idle worker, asked at most every ACTIVE_TTL_MS (one indexed read).
  let active: { value: boolean; at: number } | undefined;

  /** 410 Gone: the receiver says the endpoint no longer exists, so it is disabled until re-enabled. */
  async function disableGone(ep: WebhookEndpoint, outcome: DeliveryOutcome) {
    try {
      const after = await store.webhooks.endpoints.update(ep.appId, ep.id, { disabled: true }, now());
      rows.delete(ep.id);
      active = undefined;
      if (after === undefined) return;
      services.logger.warn(
        { endpoint: ep.id, app: ep.appId, status: outcome.status },
        'the webhook endpoint answered 410 Gone: it is disabled',
      );
      services.audit.record({
        action: 'webhook.endpoint.update',
        outcome: 'success',
        actor: { kind: 'system', id: 'webhook-delivery' },
        resource: ep.id,
        reason: DestinationGone.code,
        before: endpointView(ep),
        after: endpointView(after),
      });
    } catch (err) {
      services.logger.warn({ err, endpoint: ep.id }, 'disabling a gone webhook endpoint failed');
    }
  }

  return {
    handles: (subscription) => subscription.startsWith(PREFIX),
    async active() {
      const t = now();
      if (active === undefined || t - active.at >= ACTIVE_TTL_MS) {
        active = { value: await store.webhooks.endpoints.anyLive(), at: t };
      }
      return active.value;
    },
    async resolve(subscription, signal): Promise<ResolvedTarget | 'paused' | undefined> {
      const { endpoint, app } = await load(subscription.slice(PREFIX.length));
      if (endpoint === undefined || app === undefined) return undefined;
      if (endpoint.deletedAt !== null || endpoint.disabledAt !== null || app.deletedAt !== null)
        return 'paused';
      const settings = options.settings();
      const destination = destinationOf(endpoint, settings);
      return {
        retry: DEFAULT_RETRY,
        schedule: {
          delaysMs: settings.retryScheduleMs,
          jitter: settings.retryJitter,
          maxRetryAfterMs: settings.maxRetryAfterMs,
          slowDownMs: settings.slowDownMs,
        },
        async send(event: OutgoingEvent) {
          const messageId = messageIdOf(event.id);
          const outcome = await destination.deliver([{ ...event, id: messageId }], signal);
          await logAttempt(endpoint, messageId, outcome);
          if (outcome.kind === 'reject' && outcome.code === DestinationGone.code) {
            await disableGone(endpoint, outcome);
          }
          return outcome;
        },
      };
    },
    async close() {
      for (const b of built.values()) retire(b);
      built.clear();
      while (closing.size > 0) await Promise.all(closing);
    },
  };
}
