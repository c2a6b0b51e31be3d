/**
 * Operational events of outbound webhooks (issue #7 "Endpoint health"): what a platform wants to
 * hear about its customers' endpoints, under Svix's names and data shapes so handlers written for
 * Svix's operational webhooks work unchanged:
 *
 * | type                        | when                                                                  |
 * |-----------------------------|-----------------------------------------------------------------------|
 * | `endpoint.disabled`         | an endpoint was disabled by delivery: 410 Gone, or failing for `autoDisableAfterMs` |
 * | `message.attempt.failing`   | a message's 4th attempt to an endpoint failed (once; Svix: "sent on the fourth failure") |
 * | `message.attempt.exhausted` | a message's delivery to an endpoint is dead: its last retry failed, or a 4xx refused it |
 *
 * They are events of the reserved source `junction` in the event log, appended through the hub's
 * intake (dedupe, subscription matching, durable before anything is sent), so a platform subscribes
 * with an ordinary `events.subscriptions` entry — `sources: [junction]`, `types: [endpoint.*]` — to
 * any destination (HTTP, NATS, RabbitMQ), with retries and dead letters. The payload is
 * `{ type, timestamp, data }`, `data` camelCase as Svix's (`appId`, `appUid`, `endpointId`,
 * `endpointUid`, `msgId`, `msgEventId`, `lastAttempt`, `failSince`, `trigger`).
 *
 * The external id `<type>:<endpoint id>:<message id | why>` deduplicates (the event log's unique
 * (source, external_id)): two nodes seeing the same failure store one event. Emission never fails a
 * delivery: an error is logged and counted (`junction_webhook_operational_events_total{result="failed"}`).
 */
import type { Logger } from '../core/logger.ts';
import type { EventIntake } from '../events/index.ts';
import type { WebhookApp, WebhookEndpoint } from '../store/index.ts';
import { type EndpointHealthMetrics, endpointHealthMetrics } from './endpoint-metrics.ts';

/** The reserved event source of Junction's own operational events; no config source may take it. */
export const OPERATIONAL_SOURCE = 'junction';
/** Svix sends `message.attempt.failing` on a message's fourth failed attempt. */
export const FAILING_AFTER_ATTEMPTS = 4;

export type OperationalEventType =
  | 'endpoint.disabled'
  | 'message.attempt.failing'
  | 'message.attempt.exhausted';

export interface LastAttempt {
  /** HTTP status; null when there was no answer (refused, timeout). */
  responseStatusCode: number | null;
  /** `<code>: <message>` of the failure. */
  error: string;
  /** ISO 8601. */
  timestamp: string;
}

export interface OperationalEvents {
  endpointDisabled(
    app: WebhookApp,
    ep: WebhookEndpoint,
    why: { trigger: 'gone' | 'failing'; failSince: number | null; key: string },
    now: number,
  ): Promise<void>;
  messageAttempt(
    type: 'message.attempt.failing' | 'message.attempt.exhausted',
    app: WebhookApp,
    ep: WebhookEndpoint,
    message: { id: string; eventId: string | null },
    last: LastAttempt,
    now: number,
  ): Promise<void>;
}

export interface OperationalEventsOptions {
  /** Where events go: the hub's intake, once the hub runs (undefined before: nothing is emitted). */
  intake: () => EventIntake | undefined;
  logger: Logger;
  metrics?: EndpointHealthMetrics;
  registry?: Parameters<typeof endpointHealthMetrics>[0];
}

/**
 * @example
 * const operational = createOperationalEvents({ intake: () => hub?.intake, logger });
 * const resolver = createEndpointResolver({ store, services, settings, operational });
 */
export function createOperationalEvents(options: OperationalEventsOptions): OperationalEvents {
  const metrics = options.metrics ?? (options.registry ? endpointHealthMetrics(options.registry) : undefined);

  async function emit(type: OperationalEventType, externalId: string, data: object, now: number) {
    const intake = options.intake();
    if (intake === undefined) {
      metrics?.operational.labels({ type, result: 'failed' }).inc();
      options.logger.warn({ type, externalId }, 'webhooks: no event hub to record an operational event');
      return;
    }
    const body = JSON.stringify({ type, timestamp: new Date(now).toISOString(), data });
    try {
      const r = await intake.accept({
        source: OPERATIONAL_SOURCE,
        type,
        externalId,
        payload: body,
        headers: { 'content-type': 'application/json' },
      });
      metrics?.operational.labels({ type, result: r.duplicate ? 'duplicate' : 'emitted' }).inc();
    } catch (err) {
      // An operational event is news about a delivery, never a reason to fail it.
      metrics?.operational.labels({ type, result: 'failed' }).inc();
      options.logger.warn({ err, type, externalId }, 'webhooks: an operational event could not be stored');
    }
  }

  return {
    endpointDisabled(app, ep, why, now) {
      return emit(
        'endpoint.disabled',
        `endpoint.disabled:${ep.id}:${why.key}`,
        {
          appId: app.id,
          appUid: app.uid,
          endpointId: ep.id,
          endpointUid: ep.uid,
          failSince: why.failSince === null ? null : new Date(why.failSince).toISOString(),
          trigger: 'automatic',
          reason: why.trigger === 'gone' ? 'destination_gone' : 'endpoint_failing',
        },
        now,
      );
    },
    messageAttempt(type, app, ep, message, last, now) {
      return emit(
        type,
        `${type}:${ep.id}:${message.id}`,
        {
          appId: app.id,
          appUid: app.uid,
          endpointId: ep.id,
          endpointUid: ep.uid,
          msgId: message.id,
          msgEventId: message.eventId,
          lastAttempt: last,
        },
        now,
      );
    },
  };
}
