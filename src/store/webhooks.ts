/**
 * The outbound webhook repositories (issue #7, docs/webhooks-outbound.md), one per table group, as
 * `store.webhooks`.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { WebhookAppRepository } from './webhook-apps.ts';
import { WebhookEndpointRepository } from './webhook-endpoints.ts';
import { WebhookEventTypeRepository } from './webhook-event-types.ts';
import { WebhookMessageRepository } from './webhook-messages.ts';
import { WebhookRecoveryRepository } from './webhook-recovery.ts';

export class WebhookRepositories {
  readonly apps: WebhookAppRepository;
  readonly endpoints: WebhookEndpointRepository;
  readonly eventTypes: WebhookEventTypeRepository;
  /** Messages (sent with their fan-out on the event queue) and the attempt log. */
  readonly messages: WebhookMessageRepository;
  /** Dead letters per endpoint, recovery in pages, resend (Q40). */
  readonly recovery: WebhookRecoveryRepository;

  constructor(db: Kysely<Database>) {
    this.apps = new WebhookAppRepository(db);
    this.endpoints = new WebhookEndpointRepository(db);
    this.eventTypes = new WebhookEventTypeRepository(db);
    this.messages = new WebhookMessageRepository(db);
    this.recovery = new WebhookRecoveryRepository(db);
  }
}
