/**
 * Webhook sources (Q1): every `events.sources.<name>` answers `POST <path>` (default `/hooks/<name>`)
 * on the proxy listener, mounted into the ingress route table (src/core/endpoint.ts). A delivery is
 * read raw (bounded by `maxBodyBytes`, 413 past it), verified over those exact bytes, and only then
 * parsed (for its type) and handed to the pipeline. The 2xx is sent after the append committed:
 * 202 `{ id, duplicate: false }` for a new event, 200 `{ id, duplicate: true }` (the stored event's
 * id) for a delivery already stored. Providers only need a 2xx; the two statuses let a human with
 * curl, and the tests, tell the cases apart. A failed check stores nothing and answers the
 * verifier's problem (400/401); a failed append answers 503 `event_not_stored`, so the provider
 * retries.
 */
import { createHash } from 'node:crypto';
import type { WebhookSourceConfig } from '../config/events-schema.ts';
import type { MountedEndpoint } from '../core/endpoint.ts';
import type { Answer } from '../core/policy.ts';
import type { EventMetrics } from './metrics.ts';
import type { EventIntake } from './pipeline.ts';
import { parsePayload } from './subscriptions.ts';
import type { VerifiedWebhook, VerifyConfig, WebhookProvider, WebhookVerifier } from './verify/index.ts';

export interface WebhookSource {
  readonly name: string;
  readonly path: string;
  readonly config: WebhookSourceConfig;
  readonly verifier: WebhookVerifier;
  /** Header fields stored with the event: the provider's id, type and delivery metadata. */
  readonly keep: readonly string[];
}

/** Without credentials: signatures are left out (they are worth nothing once verified). */
const KEPT: Record<WebhookProvider, readonly string[]> = {
  stripe: [],
  github: [
    'x-github-event',
    'x-github-delivery',
    'x-github-hook-id',
    'x-github-hook-installation-target-id',
    'x-github-hook-installation-target-type',
  ],
  shopify: [
    'x-shopify-topic',
    'x-shopify-webhook-id',
    'x-shopify-event-id',
    'x-shopify-shop-domain',
    'x-shopify-api-version',
    'x-shopify-triggered-at',
  ],
  slack: ['x-slack-request-timestamp', 'x-slack-retry-num', 'x-slack-retry-reason'],
  'standard-webhooks': ['webhook-id', 'webhook-timestamp', 'svix-id', 'svix-timestamp'],
  hmac: [],
};

/** The type when neither the provider's headers nor the payload name one (Slack slash commands). */
export const UNKNOWN_TYPE = 'unknown';
const MAX_TYPE = 200;

export function webhookPath(name: string, config: WebhookSourceConfig): string {
  return config.path ?? `/hooks/${name}`;
}

export function keptHeaders(verify: VerifyConfig): string[] {
  const extra =
    verify.provider === 'hmac' ? [verify.idHeader, verify.typeHeader, verify.timestampHeader] : [];
  return [
    'content-type',
    'user-agent',
    ...KEPT[verify.provider],
    ...extra.filter((h): h is string => h !== undefined).map((h) => h.toLowerCase()),
  ];
}

/**
 * @example
 * const endpoint = webhookEndpoint(source, pipeline, eventMetrics(registry));
 * compileRuntime(loaded, services, previous, shards, [endpoint]);
 */
export function webhookEndpoint(
  source: WebhookSource,
  intake: EventIntake,
  metrics: EventMetrics,
): MountedEndpoint {
  const rejected = metrics.received.labels(source.name, 'rejected');
  return {
    name: `hook:${source.name}`,
    path: source.path,
    methods: ['POST'],
    configPath: `/events/sources/${source.name}${source.config.path === undefined ? '' : '/path'}`,
    maxBodyBytes: source.config.maxBodyBytes,
    async handle({ ctx, body }): Promise<Answer> {
      let raw: Buffer;
      let verified: VerifiedWebhook;
      try {
        raw = await body();
        verified = source.verifier.verify({ headers: ctx.headers, body: raw });
      } catch (err) {
        rejected.inc();
        throw err;
      }
      const headers: Record<string, string> = {};
      for (const name of source.keep) {
        const v = ctx.headers[name];
        if (typeof v === 'string') headers[name] = v;
      }
      const { id, duplicate } = await intake.accept({
        source: source.name,
        type: eventType(verified, source.config, raw),
        externalId: dedupeId(verified, raw),
        payload: raw,
        headers,
      });
      return {
        status: duplicate ? 200 : 202,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, duplicate }),
      };
    },
  };
}

/**
 * The provider's id when it is signed. An unsigned one (GitHub's and Shopify's delivery headers) is
 * replaced by a digest of the signed body: a captured delivery resent with a fresh id is then still
 * the same event, and a provider's redelivery (same body) is too. The provider's id stays in the
 * stored headers.
 */
function dedupeId(v: VerifiedWebhook, body: Buffer): string | undefined {
  if (v.id === undefined || v.idSigned) return v.id;
  return `sha256:${createHash('sha256').update(body).digest('base64url')}`;
}

function eventType(v: VerifiedWebhook, config: WebhookSourceConfig, body: Buffer): string {
  if (config.typeField === undefined && v.type !== undefined) return v.type;
  const payload = parsePayload(body);
  const value =
    payload !== null && typeof payload === 'object' && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)[config.typeField ?? 'type']
      : undefined;
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_TYPE) return value;
  return v.type ?? UNKNOWN_TYPE;
}
