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
 * - Retries follow a schedule — the endpoint's `retryScheduleMs`, else its application's, else the
 *   settings' — ± `retryJitter`, `Retry-After` up to `maxRetryAfterMs`, ≥ `slowDownMs` after 429,
 *   502, 504 and timeouts; attempts time out after `timeoutMs`.
 * - Before each attempt the worker asks `admit`: the endpoint's circuit breaker (endpoint-breaker.ts)
 *   and its rate and concurrency limits (endpoint-limits.ts) may hold the delivery, which then goes
 *   back to the queue unsent (no attempt counted), with the endpoint's due backlog when the hold is
 *   long. When an attempt to a full endpoint ends, the deliveries it parked are brought forward
 *   (`store.deliveries.bringForward`) and the worker woken (`wake`).
 * - Health: the first failed attempt after a success sets the endpoint's `failing_since`, a success
 *   clears it (a write only when it changes: the row held says whether it is set); a failed attempt
 *   `autoDisableAfterMs` (5 days) after `failing_since` disables the endpoint.
 * - A 410 Gone disables the endpoint too. Either disable sets `disabled_at`, is audited as a system
 *   action (reason `destination_gone` or `endpoint_failing`) and emits `endpoint.disabled`; the
 *   endpoint's other deliveries wait as for any disabled endpoint.
 * - Operational events (operational-events.ts): `message.attempt.failing` on a message's 4th failed
 *   attempt, `message.attempt.exhausted` when its delivery is dead.
 */
import { LRUCache } from 'lru-cache';
import type { Services } from '../core/services.ts';
import {
  createDestination,
  type DeliveryOutcome,
  type Destination,
  DestinationAborted,
  DestinationGone,
  type DestinationOptions,
  type OutgoingEvent,
} from '../events/destinations/index.ts';
import type { ResolvedTarget, TargetResolver, TargetWait } from '../events/worker-targets.ts';
import { messageIdOf, type Store, type WebhookApp, type WebhookEndpoint } from '../store/index.ts';
import { createEndpointBreakers, type EndpointBreakers } from './endpoint-breaker.ts';
import { createEndpointLimits, type EndpointLimits } from './endpoint-limits.ts';
import { endpointHealthMetrics } from './endpoint-metrics.ts';
import { FAILING_AFTER_ATTEMPTS, type OperationalEvents } from './operational-events.ts';
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
/** Sockets per endpoint without `sockets`: the worker's default concurrency. */
const DEFAULT_SOCKETS = 16;

export interface EndpointResolver extends TargetResolver {
  /** Closes every destination (after their attempts in flight). */
  close(): Promise<void>;
}

export interface EndpointResolverOptions {
  store: Pick<Store, 'webhooks' | 'deliveries'>;
  services: Pick<Services, 'ids' | 'logger' | 'audit'> & Partial<Pick<Services, 'metrics'>>;
  settings: () => WebhookSettings;
  destinationOptions?: DestinationOptions;
  /**
   * The clock of the attempt log and of endpoint health (`failing_since`, auto-disable); tests move
   * it days ahead. Holds (limits, breaker) keep the real clock: the queue's due times are real.
   */
  now?: () => number;
  /** Rate and concurrency limits; default in memory (`createEndpointLimits(redisEndpointPacing(…))` shares rates). */
  limits?: EndpointLimits;
  /**
   * Sockets per endpoint at most: the worker's concurrency (events.worker.concurrency), so every slot
   * of a node can be at one endpoint without queueing in its pool; an endpoint's max_concurrency,
   * when lower. Default 16, the worker's default.
   */
  sockets?: () => number;
  /** Wakes the delivery worker: parked deliveries were made due (a place of a full endpoint freed). */
  wake?: () => void;
  /** Where `endpoint.disabled` and `message.attempt.*` go; none: not emitted. */
  operational?: OperationalEvents;
}

/** Why an endpoint is disabled by delivery (the audit entry's reason, the metric's label). */
const GONE = DestinationGone.code;
export const ENDPOINT_FAILING = 'endpoint_failing';

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
  const limits = options.limits ?? createEndpointLimits();
  const breakers: EndpointBreakers = createEndpointBreakers();
  const metrics = services.metrics && endpointHealthMetrics(services.metrics.registry);
  const counts = () => breakers.counts();
  metrics?.breakerSources.add(counts);

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
    const t = now();
    const block = {
      type: 'http',
      url: ep.url,
      headers: ep.headers,
      allowPrivateNetworks: privateAllowed(ep.url, settings),
      connections: Math.min(
        ep.maxConcurrency ?? Number.POSITIVE_INFINITY,
        options.sockets?.() ?? DEFAULT_SOCKETS,
      ),
      timeoutMs: settings.timeoutMs,
      maxRetryAfterMs: settings.maxRetryAfterMs,
    };
    // Keyed on the stored (sealed) keys that sign now: the secrets are decrypted only when the
    // destination is (re)built, not on every delivery.
    const signing = [ep.secret, ...ep.previousSecrets.filter((p) => p.expiresAt > t).map((p) => p.secret)];
    const key = JSON.stringify([block, signing, ep.signingKey]);
    const current = built.get(ep.id);
    if (current?.key === key) return current.destination;
    if (current) retire(current);
    const secrets = signingSecrets(ep, t, secretBoxOf(settings));
    const destination = createDestination(
      { ...block, secrets },
      {
        ...options.destinationOptions,
        http: { ...options.destinationOptions?.http, captureResponseBytes: MAX_RESPONSE_BODY_BYTES },
      },
    );
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

  /**
   * A place of a full endpoint freed: its next parked deliveries are made due now and the worker is
   * woken to claim them (endpoint-limits.ts; never throws).
   */
  async function bringForward(endpointId: string, n: number) {
    try {
      if ((await store.deliveries.bringForward(`${PREFIX}${endpointId}`, n)) > 0) options.wake?.();
    } catch (err) {
      services.logger.warn(
        { err, endpoint: endpointId },
        'bringing parked webhook deliveries forward failed',
      );
    } finally {
      limits.pulled(endpointId);
    }
  }

  /** Brings in flight: close() waits for them, so none runs against a closed store. */
  const bringing = new Set<Promise<void>>();

  // "Any live endpoint?" for an idle worker, asked at most every ACTIVE_TTL_MS (one indexed read).
  let active: { value: boolean; at: number } | undefined;

  /**
   * Disables the endpoint until re-enabled: it answered 410 Gone (the receiver says it no longer
   * exists), or every attempt failed for `autoDisableAfterMs`.
   */
  async function disable(
    app: WebhookApp,
    ep: WebhookEndpoint,
    reason: typeof GONE | typeof ENDPOINT_FAILING,
    messageId: string,
    outcome: DeliveryOutcome,
  ) {
    const t = now();
    try {
      const after = await store.webhooks.endpoints.update(ep.appId, ep.id, { disabled: true }, t);
      rows.delete(ep.id);
      active = undefined;
      if (after === undefined) return;
      metrics?.disabled.labels({ reason }).inc();
      services.logger.warn(
        { endpoint: ep.id, app: ep.appId, status: outcome.status, failingSince: ep.failingSince },
        reason === GONE
          ? 'the webhook endpoint answered 410 Gone: it is disabled'
          : 'every attempt to the webhook endpoint failed for autoDisableAfterMs: it is disabled',
      );
      services.audit.record({
        action: 'webhook.endpoint.update',
        outcome: 'success',
        actor: { kind: 'system', id: 'webhook-delivery' },
        resource: ep.id,
        reason,
        before: endpointView(ep),
        after: endpointView(after),
      });
    } catch (err) {
      services.logger.warn({ err, endpoint: ep.id }, 'disabling a webhook endpoint failed');
      return;
    }
    // Racing nodes disabling on the same run of failures store one event (same key).
    const key = reason === GONE ? `gone:${messageId}` : `failing:${ep.failingSince}`;
    await options.operational?.endpointDisabled(
      app,
      ep,
      { trigger: reason === GONE ? 'gone' : 'failing', failSince: ep.failingSince, key },
      t,
    );
  }

  /** Breaker, health and operational events after an attempt (never throws). */
  async function afterAttempt(
    app: WebhookApp,
    ep: WebhookEndpoint,
    messageId: string,
    outcome: DeliveryOutcome,
    admitted: { trial: boolean; attempts: number } | undefined,
  ) {
    // Shutting down aborted the attempt: says nothing about the endpoint.
    if (outcome.kind === 'retry' && outcome.code === DestinationAborted.code) {
      if (admitted?.trial) breakers.record(ep.id, 'neutral', true, Date.now(), options.settings().breaker);
      return;
    }
    const settings = options.settings();
    const verdict = breakerVerdict(outcome);
    const transition = breakers.record(
      ep.id,
      verdict,
      admitted?.trial ?? false,
      Date.now(),
      settings.breaker,
    );
    if (transition !== undefined) {
      metrics?.breaker.labels({ transition }).inc();
      const state = breakers.state(ep.id);
      services.logger[transition === 'closed' ? 'info' : 'warn'](
        {
          endpoint: ep.id,
          app: ep.appId,
          until: state.state === 'open' ? new Date(state.until).toISOString() : undefined,
        },
        `webhook endpoint circuit breaker ${transition}`,
      );
    }
    try {
      if (outcome.kind === 'delivered') {
        if (ep.failingSince !== null && (await store.webhooks.endpoints.markHealthy(ep.id))) {
          ep.failingSince = null;
        }
        return;
      }
      const t = now();
      if (ep.failingSince === null) {
        if (await store.webhooks.endpoints.markFailing(ep.id, t)) ep.failingSince = t;
        // Another node started the run: read the row again for its start.
        else rows.delete(ep.id);
      }
      if (outcome.kind === 'reject' && outcome.code === GONE) {
        await disable(app, ep, GONE, messageId, outcome);
      } else if (
        ep.failingSince !== null &&
        settings.autoDisableAfterMs > 0 &&
        t - ep.failingSince >= settings.autoDisableAfterMs
      ) {
        await disable(app, ep, ENDPOINT_FAILING, messageId, outcome);
      }
      if (admitted?.attempts === FAILING_AFTER_ATTEMPTS)
        await messageEvent('message.attempt.failing', app, ep, messageId, outcome);
    } catch (err) {
      services.logger.warn({ err, endpoint: ep.id }, "recording a webhook endpoint's health failed");
    }
  }

  async function messageEvent(
    type: 'message.attempt.failing' | 'message.attempt.exhausted',
    app: WebhookApp,
    ep: WebhookEndpoint,
    messageId: string,
    outcome: DeliveryOutcome,
  ) {
    if (options.operational === undefined || outcome.kind === 'delivered') return;
    const t = now();
    const message = await store.webhooks.messages.get(app.id, messageId).catch(() => undefined);
    await options.operational.messageAttempt(
      type,
      app,
      ep,
      { id: messageId, eventId: message?.eventId ?? null },
      {
        responseStatusCode: outcome.status ?? null,
        error: `${outcome.code}: ${outcome.error}`,
        timestamp: new Date(t).toISOString(),
      },
      t,
    );
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
      let admitted: { trial: boolean; attempts: number; done?: (ms: number) => number } | undefined;
      let messageId = '';
      return {
        retry: DEFAULT_RETRY,
        schedule: {
          delaysMs: endpoint.retryScheduleMs ?? app.retryScheduleMs ?? settings.retryScheduleMs,
          jitter: settings.retryJitter,
          maxRetryAfterMs: settings.maxRetryAfterMs,
          slowDownMs: settings.slowDownMs,
        },
        async admit(delivery): Promise<TargetWait | undefined> {
          const b = breakers.admit(endpoint.id, Date.now(), settings.breaker);
          if (!b.ok) {
            metrics?.waits.labels({ reason: 'breaker' }).inc();
            return { wait: b.until, backlogUntil: b.until };
          }
          let a: Awaited<ReturnType<EndpointLimits['acquire']>>;
          try {
            a = await limits.acquire(endpoint.id, delivery.id, {
              ratePerSecond: endpoint.rateLimit ?? app.rateLimit,
              maxConcurrency: endpoint.maxConcurrency,
            });
          } catch (err) {
            if (b.trial) breakers.record(endpoint.id, 'neutral', true, Date.now(), settings.breaker);
            throw err;
          }
          if (!a.ok) {
            if (b.trial) breakers.record(endpoint.id, 'neutral', true, Date.now(), settings.breaker);
            metrics?.waits.labels({ reason: a.reason }).inc();
            return { wait: a.until, backlogUntil: a.backlogUntil, backlogSpacingMs: a.backlogSpacingMs };
          }
          admitted = { trial: b.trial, attempts: delivery.attempts, done: a.done };
          return undefined;
        },
        async send(event: OutgoingEvent) {
          messageId = messageIdOf(event.id);
          const started = Date.now();
          let outcome: DeliveryOutcome;
          try {
            outcome = await destination.deliver([{ ...event, id: messageId }], signal);
          } finally {
            const bring = admitted?.done?.(Date.now() - started) ?? 0;
            if (bring > 0) {
              const p = bringForward(endpoint.id, bring);
              bringing.add(p);
              void p.finally(() => bringing.delete(p));
            }
          }
          await logAttempt(endpoint, messageId, outcome);
          await afterAttempt(app, endpoint, messageId, outcome, admitted);
          return outcome;
        },
        async settled(result, outcome) {
          if (result !== 'dead') return;
          try {
            await messageEvent('message.attempt.exhausted', app, endpoint, messageId, outcome);
          } catch (err) {
            services.logger.warn(
              { err, endpoint: endpoint.id },
              'webhooks: message.attempt.exhausted failed',
            );
          }
        },
      };
    },
    async close() {
      metrics?.breakerSources.delete(counts);
      for (const b of built.values()) retire(b);
      built.clear();
      while (closing.size > 0) await Promise.all(closing);
      while (bringing.size > 0) await Promise.all(bringing);
    },
  };
}

/**
 * What an attempt's outcome says about the endpoint's availability: no answer, a timeout or a 5xx
 * count toward opening its breaker; any answer below 500 proves it is up (a 4xx refuses this
 * message, not the endpoint) except 429, which asks for less traffic and decides nothing.
 */
export function breakerVerdict(outcome: DeliveryOutcome): 'failed' | 'ok' | 'neutral' {
  if (outcome.kind === 'delivered') return 'ok';
  if (outcome.status === 429) return 'neutral';
  if (outcome.status === undefined || outcome.status >= 500) return 'failed';
  return 'ok';
}
