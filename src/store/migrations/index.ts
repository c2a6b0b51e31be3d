/**
 * Every migration, in order. Migrations are append-only: once a migration has been released, never edit
 * or reorder it, because databases out there already recorded it as applied (Kysely's Migrator refuses
 * to run when an applied name is missing, and runs names in string order). Change the schema by adding
 * `000N-<what>.ts` and listing it here.
 *
 * They are code, not files found at run time, so they work the same from a source checkout and a
 * bundle (Kysely's `FileMigrationProvider` would read the directory).
 */
import type { Migration } from 'kysely/migration';
import * as core from './0001-core.ts';
import * as shardDirectory from './0002-shard-directory.ts';
import * as apiKeys from './0003-api-keys.ts';
import * as sessions from './0004-sessions.ts';
import * as auditLog from './0005-audit-log.ts';
import * as idempotency from './0006-idempotency.ts';
import * as events from './0007-events.ts';
import * as outboundWebhooks from './0008-outbound-webhooks.ts';
import * as webhookEndpointHealth from './0009-webhook-endpoint-health.ts';

export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-core': core,
  '0002-shard-directory': shardDirectory,
  '0003-api-keys': apiKeys,
  '0004-sessions': sessions,
  '0005-audit-log': auditLog,
  '0006-idempotency': idempotency,
  '0007-events': events,
  '0008-outbound-webhooks': outboundWebhooks,
  '0009-webhook-endpoint-health': webhookEndpointHealth,
});
