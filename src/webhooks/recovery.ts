/**
 * Dead letters and recovery of outbound webhooks (issue #7, Q40; docs/webhooks-outbound.md "Dead
 * letters and recovery"): the rules the admin API and `junction webhooks` share.
 *
 * - Which endpoints: the ones named must be live endpoints of the application (another
 *   application's, a deleted or an unknown one is `webhook_endpoint_unknown`) and enabled
 *   (`webhook_endpoint_disabled`: what is requeued for a disabled endpoint would only wait — enable it
 *   first). Named none: every live, enabled endpoint of the application.
 * - Recovery requeues in pages (`store.webhooks.recovery.requeuePage`), endpoint after endpoint,
 *   reporting progress after each page; there is no limit on how far back it reaches (Svix caps
 *   recovery at 14 days; the queue keeps dead letters until they are discarded, so we need none).
 * - Resend sends one message to one endpoint again, whatever its delivery's state, or for the first
 *   time if the endpoint never had it; a delivery a worker holds right now is
 *   `webhook_delivery_in_flight`.
 * Requeued deliveries are due at once: a running gateway's worker takes them on its next claim.
 */
import Type, { type Static } from 'typebox';
import { JunctionError } from '../core/errors.ts';
import type { DeadLetter, IdIssuer, Store, WebhookEndpoint } from '../store/index.ts';
import { WebhookDeliveryInFlight, WebhookEndpointDisabled, WebhookEndpointUnknown } from './errors.ts';

/** Dead letters read (and requeued) per round trip. */
export const RECOVERY_PAGE = 500;

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const iso = (ms: number) => new Date(ms).toISOString();

export const DeadLetterView = Type.Object({
  delivery_id: Type.String(),
  message_id: Type.String(),
  endpoint_id: Type.String(),
  event_type: Type.String(),
  attempts: Type.Integer({ description: 'Attempts made before it died' }),
  last_error: Nullable(Type.String({ description: '`<code>: <detail>` of the last attempt' })),
  last_status: Nullable(Type.Integer({ description: 'HTTP status of the last attempt; null: no answer' })),
  sent_at: Time,
  dead_at: Time,
});
export type DeadLetterView = Static<typeof DeadLetterView>;

export function deadLetterView(d: DeadLetter): DeadLetterView {
  return {
    delivery_id: d.deliveryId,
    message_id: d.messageId,
    endpoint_id: d.endpointId,
    event_type: d.eventType,
    attempts: d.attempts,
    last_error: d.lastError,
    last_status: d.lastStatus,
    sent_at: iso(d.sentAt),
    dead_at: iso(d.diedAt),
  };
}

export const RecoveredView = Type.Object({
  recovered: Type.Integer({ description: 'Dead letters set pending again, due now' }),
});
export type RecoveredView = Static<typeof RecoveredView>;

export const ResentView = Type.Object({
  message_id: Type.String(),
  endpoint_id: Type.String(),
  delivery_id: Type.String(),
  previous_status: Nullable(
    Type.String({ description: 'pending, done or dead before the resend; null: the endpoint never had it' }),
  ),
});
export type ResentView = Static<typeof ResentView>;

/**
 * The endpoints a recovery or resend acts on: those named (each a live, enabled endpoint of the
 * application), or every live, enabled endpoint of it.
 */
export async function recoveryEndpoints(
  store: Store,
  appId: string,
  named?: readonly string[],
): Promise<WebhookEndpoint[]> {
  if (named === undefined) {
    const all: WebhookEndpoint[] = [];
    let after: string | undefined;
    do {
      const page = await store.webhooks.endpoints.list(appId, { limit: 250, after });
      all.push(...page.items.filter((e) => e.disabledAt === null));
      after = page.next;
    } while (after !== undefined);
    return all;
  }
  const out: WebhookEndpoint[] = [];
  for (const id of new Set(named)) {
    const ep = await store.webhooks.endpoints.get(appId, id);
    if (ep === undefined) {
      throw new JunctionError(WebhookEndpointUnknown, `${id} is not a live endpoint of application ${appId}`);
    }
    if (ep.disabledAt !== null) {
      throw new JunctionError(WebhookEndpointDisabled, `endpoint ${id} is disabled; enable it first`);
    }
    out.push(ep);
  }
  return out;
}

export interface RecoverOptions {
  since?: number;
  until?: number;
  eventTypes?: readonly string[];
  pageSize?: number;
  /** After each page: dead letters read so far of `total`, and requeued so far. */
  onProgress?: (p: RecoverProgress) => void;
  now?: () => number;
}

export interface RecoverProgress {
  scanned: number;
  /** What the scan will read, counted before it starts; dead letters added meanwhile may raise it. */
  total: number;
  recovered: number;
}

/**
 * Requeues the dead letters of `endpoints` that match, a page at a time.
 * @example
 * const eps = await recoveryEndpoints(store, app.id, ['ep_…']);
 * const { recovered } = await recoverDeadLetters(store, eps, { since: Date.now() - 86_400_000 });
 */
export async function recoverDeadLetters(
  store: Store,
  endpoints: readonly WebhookEndpoint[],
  options: RecoverOptions = {},
): Promise<RecoverProgress> {
  const recovery = store.webhooks.recovery;
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? RECOVERY_PAGE;
  const filter = { since: options.since, until: options.until, eventTypes: options.eventTypes };
  let total = 0;
  for (const ep of endpoints) total += await recovery.countDead(ep.id, options.since);
  const progress: RecoverProgress = { scanned: 0, total, recovered: 0 };
  for (const ep of endpoints) {
    let after: string | undefined;
    do {
      const page = await recovery.requeuePage(ep.id, filter, after, pageSize, now());
      progress.scanned += page.scanned;
      progress.recovered += page.requeued;
      progress.total = Math.max(progress.total, progress.scanned);
      if (page.scanned > 0) options.onProgress?.({ ...progress });
      after = page.next;
    } while (after !== undefined);
  }
  return progress;
}

/**
 * Resend one message to one live, enabled endpoint of its application. Undefined: no such message.
 * @example
 * const resent = await resendMessage(store, ids, app.id, 'msg_…', 'ep_…');
 */
export async function resendMessage(
  store: Store,
  ids: IdIssuer,
  appId: string,
  messageId: string,
  endpointId: string,
): Promise<ResentView | undefined> {
  const [ep] = await recoveryEndpoints(store, appId, [endpointId]);
  const result = await store.webhooks.recovery.resend(appId, messageId, ep!.id, ids);
  if (result.kind === 'no-message') return undefined;
  if (result.kind === 'in-flight') {
    throw new JunctionError(
      WebhookDeliveryInFlight,
      `message ${messageId} is being delivered to ${endpointId} right now; retry when the attempt ends`,
      { headers: { 'retry-after': '5' } },
    );
  }
  return {
    message_id: messageId,
    endpoint_id: ep!.id,
    delivery_id: result.deliveryId,
    previous_status: result.kind === 'added' ? null : result.was,
  };
}
