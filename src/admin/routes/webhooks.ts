/**
 * The outbound webhook admin API (issue #7, docs/webhooks-outbound.md) under `/admin/v1`:
 * applications and endpoints (`/apps/...`), messages and attempts, event types and their schemas.
 *
 * Roles: viewers read (endpoint secrets excepted), operators also send messages, admins manage
 * applications, endpoints and event types. Tenant-scoped callers see and act on their tenant's
 * applications only; the event type catalogue is shared and managed by unscoped admins.
 */
import type { FastifyInstance } from 'fastify';
import { registerWebhookAppRoutes } from './webhooks-apps.ts';
import type { WebhooksAdmin } from './webhooks-common.ts';
import { registerWebhookEndpointRoutes } from './webhooks-endpoints.ts';
import { registerWebhookEventTypeRoutes } from './webhooks-event-types.ts';
import { registerWebhookMessageRoutes } from './webhooks-messages.ts';
import { registerWebhookRecoveryRoutes } from './webhooks-recovery.ts';

export type { WebhooksAdmin } from './webhooks-common.ts';

export function registerWebhookRoutes(api: FastifyInstance, deps: WebhooksAdmin): void {
  registerWebhookAppRoutes(api, deps);
  registerWebhookEndpointRoutes(api, deps);
  registerWebhookMessageRoutes(api, deps);
  registerWebhookRecoveryRoutes(api, deps);
  registerWebhookEventTypeRoutes(api, deps);
}
