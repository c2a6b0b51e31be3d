/**
 * Outbound webhooks, part 2 (issue #7): what the delivery of an endpoint needs beyond 0008.
 * Released: never edit, add a migration instead (./index.ts).
 *
 * - `retry_schedule` on applications and endpoints: a JSON array of delays in ms overriding the
 *   `webhooks.retryScheduleMs` setting (the endpoint's wins over its application's); null: inherit.
 * - `max_concurrency` on endpoints: attempts in flight at once; null: no limit.
 * - `failing_since` on endpoints: when the current run of failed attempts began (null while the last
 *   attempt succeeded); after `webhooks.autoDisableAfterMs` of it the endpoint is disabled.
 * - `signing_key` on endpoints: an Ed25519 private key (`whsk_…`, sealed like the secrets when an
 *   encryption key is configured) that adds `v1a` signatures; null: HMAC `v1` only.
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webhook_apps').addColumn('retry_schedule', 'text').execute();
  await db.schema.alterTable('webhook_endpoints').addColumn('retry_schedule', 'text').execute();
  await db.schema.alterTable('webhook_endpoints').addColumn('max_concurrency', 'integer').execute();
  await db.schema.alterTable('webhook_endpoints').addColumn('failing_since', 'bigint').execute();
  await db.schema.alterTable('webhook_endpoints').addColumn('signing_key', 'text').execute();
}
