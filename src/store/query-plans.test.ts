/**
 * Q49: every repository query is served by an index. The repositories build their queries in `…Query`
 * methods, so this test explains the exact SQL and parameters that run in production.
 *
 * SQLite: `EXPLAIN QUERY PLAN` (https://www.sqlite.org/eqp.html). PostgreSQL: `EXPLAIN (FORMAT JSON)`
 * with `enable_seqscan = off`, so that a tiny test table does not make a sequential scan look cheaper
 * than an index that exists; if no usable index exists the planner still has to scan
 * (https://www.postgresql.org/docs/current/runtime-config-query.html#GUC-ENABLE-SEQSCAN).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Compilable, CompiledQuery, sql } from 'kysely';
import { Snowflake } from '../core/ids.ts';
import type { Store } from './open.ts';
import { seedRevisions, targets } from './testing.ts';
import { auditRecords, plainLinker, seedAuditLog } from './testing-audit.ts';

/** lookup: filtered, must search an index. ordered: reads in index order, no sort step. */
type Kind = 'lookup' | 'ordered' | 'upsert' | 'insert';
interface PlanCase {
  name: string;
  query: Compilable;
  kind: Kind;
  /** The index the plan must read (the queue's hot queries: any other index would be a regression). */
  uses?: string;
}

function repositoryQueries(store: Store, now: number): PlanCase[] {
  const { nodes, configRevisions: revs, shards } = store;
  const sample = { id: 'cfg_0000000000000', hash: 'h', status: 'applied', source: 'file' } as const;
  return [
    { name: 'nodes.live', query: nodes.liveQuery(now - 30_000), kind: 'lookup' },
    { name: 'nodes.claim', query: nodes.claimQuery(5, 'i', now, now - 30_000), kind: 'upsert' },
    { name: 'nodes.heartbeat', query: nodes.heartbeatQuery(1, 'i', now), kind: 'lookup' },
    { name: 'nodes.release', query: nodes.releaseQuery(1, 'i'), kind: 'lookup' },
    { name: 'nodes.list', query: nodes.listQuery(), kind: 'ordered' },
    {
      name: 'configRevisions.insert',
      query: revs.insertQuery({ ...sample, appliedBy: null, error: null, createdAt: now }),
      kind: 'insert',
    },
    { name: 'configRevisions.latestApplied', query: revs.latestAppliedQuery(), kind: 'lookup' },
    { name: 'configRevisions.list', query: revs.listQuery({ limit: 20 }), kind: 'ordered' },
    {
      name: 'configRevisions.list after',
      query: revs.listQuery({ limit: 20, after: 'cfg_Z' }),
      kind: 'lookup',
    },
    {
      name: 'configRevisions.list status',
      query: revs.listQuery({ limit: 20, status: 'rejected' }),
      kind: 'lookup',
    },
    { name: 'shards.get', query: shards.getQuery('r', 'k'), kind: 'lookup' },
    { name: 'shards.put', query: shards.putQuery('r', 'k', 'u', now), kind: 'upsert' },
    { name: 'shards.delete', query: shards.deleteQuery('r', 'k'), kind: 'lookup' },
    { name: 'shards.list', query: shards.listQuery('r', { limit: 20 }), kind: 'lookup' },
    { name: 'shards.list after', query: shards.listQuery('r', { limit: 20, after: 'k' }), kind: 'lookup' },
    {
      name: 'configRevisions.list status after',
      query: revs.listQuery({ limit: 20, status: 'applied', after: 'cfg_Z' }),
      kind: 'lookup',
    },
    ...apiKeyQueries(store, now),
    ...sessionQueries(store, now),
    ...auditLogQueries(store, now),
    ...eventQueries(store, now),
  ];
}

function apiKeyQueries(store: Store, now: number): PlanCase[] {
  const keys = store.apiKeys;
  const key = {
    id: 'jk_0000000000000',
    prefix: 'abcdefgh2345',
    hash: '0'.repeat(64),
    name: 'n',
    scopes: [],
    roles: [],
    tenant: null,
    expiresAt: null,
    revokedAt: null,
    createdAt: now,
    createdBy: null,
    lastUsedAt: null,
  };
  return [
    { name: 'apiKeys.insert', query: keys.insertQuery(key), kind: 'insert' },
    { name: 'apiKeys.get', query: keys.getQuery('jk_0000000000000'), kind: 'lookup' },
    { name: 'apiKeys.findByPrefix', query: keys.findByPrefixQuery('abcdefgh2345'), kind: 'lookup' },
    { name: 'apiKeys.list', query: keys.listQuery({ limit: 20 }), kind: 'ordered' },
    { name: 'apiKeys.list after', query: keys.listQuery({ limit: 20, after: 'jk_Z' }), kind: 'lookup' },
    { name: 'apiKeys.list tenant', query: keys.listQuery({ limit: 20, tenant: 'acme' }), kind: 'lookup' },
    {
      name: 'apiKeys.list tenant after',
      query: keys.listQuery({ limit: 20, tenant: 'acme', after: 'jk_Z' }),
      kind: 'lookup',
    },
    { name: 'apiKeys.revoke', query: keys.revokeQuery('jk_0000000000000', now), kind: 'lookup' },
    { name: 'apiKeys.touch', query: keys.touchQuery('jk_0000000000000', now), kind: 'lookup' },
  ];
}

function sessionQueries(store: Store, now: number): PlanCase[] {
  const s = store.sessions;
  const id = 'A'.repeat(43);
  const tokens = {
    accessToken: '1.x',
    accessExpiresAt: now,
    refreshToken: null,
    idToken: null,
    scope: null,
    keyVersion: 1,
  };
  const session = {
    ...tokens,
    id,
    realm: 'r',
    subject: 'alice',
    claims: {},
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now,
    absoluteExpiresAt: now,
  };
  const login = {
    id,
    realm: 'r',
    browser: 'b',
    nonce: 'n',
    codeVerifier: '1.v',
    returnTo: '/',
    createdAt: now,
    expiresAt: now,
  };
  return [
    { name: 'sessions.insert', query: s.insertQuery(session), kind: 'insert' },
    { name: 'sessions.get', query: s.getQuery(id), kind: 'lookup' },
    { name: 'sessions.touch', query: s.touchQuery(id, now, now), kind: 'lookup' },
    { name: 'sessions.setTokens', query: s.setTokensQuery(id, tokens), kind: 'lookup' },
    { name: 'sessions.claimRefresh', query: s.claimRefreshQuery(id, now, now, now), kind: 'lookup' },
    { name: 'sessions.delete', query: s.deleteQuery(id), kind: 'lookup' },
    { name: 'sessions.sweep', query: s.sweepQuery(now, 500), kind: 'lookup' },
    { name: 'sessions.insertLogin', query: s.insertLoginQuery(login), kind: 'insert' },
    { name: 'sessions.takeLogin', query: s.takeLoginQuery(id), kind: 'lookup' },
    { name: 'sessions.sweepLogins', query: s.sweepLoginsQuery(now, 500), kind: 'lookup' },
  ];
}

/** Q50: the chain lock, appends, verification pages and every admin filter of the audit log. */
function auditLogQueries(store: Store, now: number): PlanCase[] {
  const audit = store.auditLog;
  const [sample] = plainLinker({ seq: 0, hash: '0' }, auditRecords(1, now));
  const head = { seq: 1, hash: 'h' };
  const after = 'aud_0ZZZZZZZZZZZZ';
  const range = { from: now - 3_600_000, to: now };
  const list = (name: string, filter: object, kind: Kind = 'lookup'): PlanCase => ({
    name: `auditLog.list ${name}`,
    query: audit.listQuery({ limit: 20, ...filter }),
    kind,
  });
  return [
    { name: 'auditLog.head', query: audit.headQuery(false), kind: 'lookup' },
    { name: 'auditLog.head for update', query: audit.headQuery(true), kind: 'lookup' },
    { name: 'auditLog.advanceHead', query: audit.advanceHeadQuery(head, head), kind: 'lookup' },
    { name: 'auditLog.insert', query: audit.insertQuery([sample!]), kind: 'insert' },
    { name: 'auditLog.storedIds', query: audit.storedIdsQuery([after, 'aud_1']), kind: 'lookup' },
    { name: 'auditLog.get', query: audit.getQuery(after), kind: 'lookup' },
    { name: 'auditLog.chain', query: audit.chainQuery(10, 1000, 100), kind: 'lookup' },
    list('newest first', {}, 'ordered'),
    list('after', { after }),
    list('time range', range),
    list('action', { action: 'auth.deny' }),
    list('action after', { action: 'auth.deny', after }),
    list('action in range', { action: 'auth.deny', ...range }),
    list('actor', { actor: 'u1', after }),
    list('actor in range', { actor: 'u1', ...range }),
    list('outcome', { outcome: 'deny' }),
    list('outcome in range', { outcome: 'deny', ...range, after }),
    list('action and outcome', { action: 'config.reload', outcome: 'failure' }),
    list('every filter', { action: 'auth.deny', actor: 'u2', outcome: 'deny', ...range, after }),
  ];
}

/** Issue #6: the event log, the delivery queue's claim and dead-letter queries, the inbox, poll cursors. */
function eventQueries(store: Store, now: number): PlanCase[] {
  const { events, deliveries: dq, inbox, pollCursors: polls } = store;
  const evt = 'evt_0ZZZZZZZZZZZZ';
  const dlv = 'dlv_0ZZZZZZZZZZZZ';
  const range = { from: now - 3_600_000, to: now };
  const row = {
    id: evt,
    source: 's',
    type: 't',
    external_id: 'x',
    received_at: now,
    payload: Buffer.from('{}'),
    headers: '{}',
  };
  const delivery = {
    id: dlv,
    event_id: evt,
    subscription: 'sub',
    status: 'pending' as const,
    attempts: 0,
    next_attempt_at: now,
    lease_owner: null,
    lease_expires_at: null,
    last_error: null,
    last_status: null,
    created_at: now,
    updated_at: now,
  };
  const lease = { source: 's', owner: 'o', fence: 1, expiresAt: now };
  const eventList = (name: string, filter: object, kind: Kind = 'lookup'): PlanCase => ({
    name: `events.list ${name}`,
    query: events.listQuery({ limit: 20, ...filter }),
    kind,
  });
  const dead = (name: string, filter: object, uses?: string): PlanCase => ({
    name: `deliveries.listDead ${name}`,
    query: dq.listQuery('dead', { limit: 20, ...filter }),
    // As the other filtered lists: on a table this small PostgreSQL may prefer a bitmap read and a sort.
    kind: 'lookup',
    uses,
  });
  const bySub = 'deliveries_subscription_status_id_idx';
  return [
    { name: 'events.insert', query: events.insertQuery(row), kind: 'upsert' },
    { name: 'events.insertDeliveries', query: events.insertDeliveriesQuery([delivery]), kind: 'insert' },
    {
      name: 'events.find',
      query: events.findQuery('s', 'x'),
      kind: 'lookup',
      uses: 'events_source_external_id_key',
    },
    {
      name: 'events.dedupeKeys',
      query: events.dedupeKeysQuery(1000),
      kind: 'lookup',
      uses: 'events_source_external_id_key',
    },
    {
      name: 'events.dedupeKeys after',
      query: events.dedupeKeysQuery(1000, { source: 's', externalId: 'x' }),
      kind: 'lookup',
    },
    { name: 'events.get', query: events.getQuery(evt), kind: 'lookup' },
    { name: 'events.getMany', query: events.getManyQuery([evt, 'evt_1']), kind: 'lookup' },
    eventList('newest first', {}, 'ordered'),
    eventList('after', { after: evt }),
    eventList('time range', range),
    eventList('source', { source: 's', after: evt }),
    eventList('type in range', { type: 't', ...range }),
    eventList('source and type', { source: 's', type: 't', ...range, after: evt }),
    { name: 'events.export', query: events.exportQuery({}, 500), kind: 'ordered' },
    { name: 'events.export range', query: events.exportQuery(range, 500, evt), kind: 'lookup' },
    {
      name: 'events.export source',
      query: events.exportQuery({ source: 's', ...range }, 500),
      kind: 'lookup',
    },

    {
      name: 'deliveries.claim',
      query: dq.claimQuery('w', 50, 30_000, now),
      kind: 'lookup',
      uses: 'deliveries_due_idx',
    },
    { name: 'deliveries.extend', query: dq.extendQuery(dlv, 'w', now, now), kind: 'lookup' },
    { name: 'deliveries.complete', query: dq.completeQuery(dlv, 'w', now), kind: 'lookup' },
    { name: 'deliveries.retry', query: dq.retryQuery(dlv, 'w', now, 'e', 503, now), kind: 'lookup' },
    { name: 'deliveries.deadLetter', query: dq.deadLetterQuery(dlv, 'w', 'e', null, now), kind: 'lookup' },
    { name: 'deliveries.get', query: dq.getQuery(dlv), kind: 'lookup' },
    { name: 'deliveries.postpone', query: dq.postponeQuery(dlv, 'w', now, now), kind: 'lookup' },
    {
      name: 'deliveries.postponeDue',
      query: dq.postponeDueQuery('ep:ep_1', now + 1_000, now),
      kind: 'lookup',
      uses: bySub,
    },
    {
      name: 'deliveries.bringForward',
      query: dq.bringForwardQuery('ep:ep_1', 2, now),
      kind: 'lookup',
      uses: bySub,
    },
    {
      name: 'deliveries.postponeDue spread',
      query: dq.postponeDueQuery('ep:ep_1', now + 1_000, now, 20),
      kind: 'lookup',
      uses: bySub,
    },
    {
      name: 'deliveries.count',
      query: dq.countQuery('pending', 100_000),
      // 'ordered': SQLite's outer SCAN reads the capped subquery's rows, not a table.
      kind: 'ordered',
      uses: 'deliveries_status_id_idx',
    },
    {
      name: 'deliveries.replayMany ids',
      query: dq.replayQuery({ ids: [dlv, dlv] }, now),
      kind: 'lookup',
    },
    {
      name: 'deliveries.forEvent',
      query: dq.forEventQuery(evt),
      kind: 'lookup',
      uses: 'deliveries_event_id_subscription_key',
    },
    dead('newest first', {}, 'deliveries_status_id_idx'),
    dead('after', { after: dlv }, 'deliveries_status_id_idx'),
    dead('time range', range, 'deliveries_status_id_idx'),
    dead('subscription', { subscription: 'sub' }, bySub),
    // Either index serves this one; the planner picks by its estimates.
    dead('subscription in range', { subscription: 'sub', ...range, after: dlv }),
    { name: 'deliveries.replay', query: dq.replayQuery({ id: dlv }, now), kind: 'lookup' },
    {
      name: 'deliveries.replayMany',
      query: dq.replayQuery({ subscription: 'sub', ...range }, now),
      kind: 'lookup',
      uses: bySub,
    },
    {
      name: 'deliveries.replayMany time range',
      query: dq.replayQuery(range, now),
      kind: 'lookup',
      uses: 'deliveries_status_id_idx',
    },
    { name: 'deliveries.discard', query: dq.discardQuery({ id: dlv }), kind: 'lookup' },
    {
      name: 'deliveries.discardMany',
      query: dq.discardQuery({ subscription: 'sub' }),
      kind: 'lookup',
      uses: bySub,
    },

    { name: 'inbox.record', query: inbox.recordQuery('c', 'm', now), kind: 'upsert' },
    { name: 'inbox.get', query: inbox.getQuery('c', 'm'), kind: 'lookup' },
    {
      name: 'inbox.sweep',
      query: inbox.sweepQuery(now, 500),
      kind: 'lookup',
      uses: 'inbox_processed_at_idx',
    },

    { name: 'pollCursors.get', query: polls.getQuery('s'), kind: 'lookup' },
    { name: 'pollCursors.acquire', query: polls.acquireQuery('s', 'o', now, now), kind: 'upsert' },
    { name: 'pollCursors.renew', query: polls.renewQuery(lease, now), kind: 'lookup' },
    { name: 'pollCursors.release', query: polls.releaseQuery(lease), kind: 'lookup' },
    {
      name: 'pollCursors.set',
      query: polls.setQuery(lease, { cursor: 'c', etag: null }, now),
      kind: 'lookup',
    },
  ];
}

/** The outbound webhook repositories (issue #7). */
function webhookQueries(store: Store, now: number): PlanCase[] {
  const { apps, endpoints, eventTypes, messages } = store.webhooks;
  const app = 'app_0ZZZZZZZZZZZZ';
  const appRow = {
    id: app,
    tenant: '',
    uid: 'u',
    name: 'n',
    rate_limit: null,
    retry_schedule: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
  };
  const epRow = {
    id: 'ep_0ZZZZZZZZZZZZ',
    app_id: app,
    uid: 'u',
    url: 'https://x.example',
    description: '',
    filter_types: null,
    channels: null,
    headers: '{}',
    secret: 's',
    previous_secrets: '[]',
    disabled_at: null,
    rate_limit: null,
    retry_schedule: null,
    max_concurrency: null,
    failing_since: null,
    signing_key: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
  };
  const msgRow = {
    id: 'msg_0ZZZZZZZZZZZZ',
    app_id: app,
    event_type: 't',
    event_id: 'e',
    channels: null,
    payload: '{}',
    schema_version: 0,
    queue_event_id: 'evt_0ZZZZZZZZZZZZ',
    created_at: now,
  };
  return [
    { name: 'webhookApps.insert', query: apps.insertQuery(appRow), kind: 'upsert' },
    { name: 'webhookApps.get', query: apps.getQuery(app), kind: 'lookup' },
    { name: 'webhookApps.byUid', query: apps.byUidQuery('', 'u'), kind: 'lookup' },
    // 'lookup', not 'ordered': on a handful of rows PostgreSQL may bitmap-scan a partial index and sort
    // them; with many rows and a small limit, webhook_apps_live_id_idx read backwards is cheaper.
    { name: 'webhookApps.list', query: apps.listQuery({ limit: 20 }), kind: 'lookup' },
    {
      name: 'webhookApps.list tenant after',
      query: apps.listQuery({ limit: 20, tenant: 't1', after: app }),
      kind: 'lookup',
      uses: 'webhook_apps_tenant_id_idx',
    },
    { name: 'webhookApps.softDelete', query: apps.softDeleteQuery(app, now), kind: 'lookup' },
    {
      name: 'webhookApps.purge',
      query: apps.purgeQuery(now, 500),
      kind: 'lookup',
      uses: 'webhook_apps_deleted_at_idx',
    },
    { name: 'webhookEndpoints.insert', query: endpoints.insertQuery(epRow), kind: 'upsert' },
    { name: 'webhookEndpoints.get', query: endpoints.getQuery(app, epRow.id), kind: 'lookup' },
    {
      name: 'webhookEndpoints.list',
      query: endpoints.listQuery(app, { limit: 20 }),
      kind: 'lookup',
      uses: 'webhook_endpoints_app_id_id_idx',
    },
    {
      name: 'webhookEndpoints.markFailing',
      query: endpoints.markFailingQuery(epRow.id, now),
      kind: 'lookup',
    },
    { name: 'webhookEndpoints.markHealthy', query: endpoints.markHealthyQuery(epRow.id), kind: 'lookup' },
    {
      name: 'webhookEndpoints.anyLive',
      query: endpoints.anyLiveQuery(),
      kind: 'lookup',
      uses: 'webhook_endpoints_app_uid_key',
    },
    {
      name: 'webhookEndpoints.purge',
      query: endpoints.purgeQuery(now, 500),
      kind: 'lookup',
      uses: 'webhook_endpoints_deleted_at_idx',
    },
    { name: 'webhookEventTypes.upsert', query: eventTypes.upsertQuery('t', 'd', now), kind: 'upsert' },
    { name: 'webhookEventTypes.list', query: eventTypes.listQuery(0, 50), kind: 'ordered' },
    { name: 'webhookEventTypes.bump', query: eventTypes.bumpQuery('t', 1, now), kind: 'lookup' },
    { name: 'webhookEventTypes.schemas', query: eventTypes.schemasQuery('t'), kind: 'lookup' },
    { name: 'webhookMessages.insert', query: messages.insertQuery(msgRow), kind: 'upsert' },
    {
      name: 'webhookMessages.byEventId',
      query: messages.byEventIdQuery(app, 'e'),
      kind: 'lookup',
      uses: 'webhook_messages_app_event_id_key',
    },
    {
      name: 'webhookMessages.activeEndpoints',
      query: messages.activeEndpointsQuery(app),
      kind: 'lookup',
      uses: 'webhook_endpoints_app_id_id_idx',
    },
    {
      name: 'webhookMessages.list',
      query: messages.listQuery(app, { limit: 20, after: msgRow.id }),
      kind: 'lookup',
      uses: 'webhook_messages_app_id_id_idx',
    },
    {
      name: 'webhookMessages.listAttempts message',
      query: messages.listAttemptsQuery(app, { limit: 20, messageId: msgRow.id }),
      kind: 'lookup',
    },
    {
      name: 'webhookMessages.listAttempts endpoint',
      query: messages.listAttemptsQuery(app, { limit: 20, endpointId: epRow.id }),
      kind: 'lookup',
    },
    {
      name: 'webhookMessages.listAttempts',
      query: messages.listAttemptsQuery(app, { limit: 20 }),
      kind: 'lookup',
    },
    {
      name: 'webhookMessages.purgePayloads',
      query: messages.purgePayloadsQuery(now, 500),
      kind: 'lookup',
      uses: 'webhook_messages_payload_created_at_idx',
    },
    ...recoveryQueries(store, now),
  ];
}

/** Dead letters per endpoint, recovery and resend (src/store/webhook-recovery.ts). */
function recoveryQueries(store: Store, now: number): PlanCase[] {
  const r = store.webhooks.recovery;
  const ep = 'ep_0ZZZZZZZZZZZZ';
  const after = 'dlv_0ZZZZZZZZZZZZ';
  const byEndpoint = 'deliveries_subscription_status_id_idx';
  return [
    { name: 'recovery.dead', query: r.deadQuery(ep, { limit: 20 }), kind: 'lookup', uses: byEndpoint },
    {
      name: 'recovery.dead after',
      query: r.deadQuery(ep, { limit: 20, after }),
      kind: 'lookup',
      uses: byEndpoint,
    },
    {
      name: 'recovery.countDead',
      query: r.countDeadQuery(ep, now - 60_000),
      kind: 'lookup',
      uses: byEndpoint,
    },
    {
      name: 'recovery.scan',
      query: r.scanQuery(ep, after, 500),
      kind: 'lookup',
      uses: byEndpoint,
    },
    { name: 'recovery.requeue', query: r.requeueQuery(['dlv_a', 'dlv_b'], now), kind: 'lookup' },
    { name: 'recovery.message', query: r.messageQuery('app_x', 'msg_x'), kind: 'lookup' },
    {
      name: 'recovery.delivery',
      query: r.deliveryQuery('evt_x', `ep:${ep}`),
      kind: 'lookup',
      uses: 'deliveries_event_id_subscription_key',
    },
    {
      name: 'recovery.resend',
      query: r.resendQuery({ id: 'dlv_a', status: 'done', updated_at: now }, now),
      kind: 'lookup',
    },
    { name: 'recovery.add', query: r.addQuery('dlv_a', 'evt_x', `ep:${ep}`, now), kind: 'upsert' },
  ];
}

/** Two tenants' applications with endpoints, messages and attempts, some deleted. */
async function seedWebhooks(store: Store, now: number): Promise<void> {
  const ids = new Snowflake({ nodeId: 5 });
  const w = store.webhooks;
  for (let a = 0; a < 6; a++) {
    const app = (await w.apps.create({
      id: ids.next('app'),
      tenant: `t${a % 2}`,
      uid: `a${a}`,
      name: 'n',
      now,
    }))!;
    for (let e = 0; e < 3; e++) {
      const ep = (await w.endpoints.create({
        id: ids.next('ep'),
        appId: app.id,
        url: 'https://x.example',
        secret: 's',
        now,
      }))!;
      if (e === 2) await w.endpoints.softDelete(app.id, ep.id, now);
    }
    for (let m = 0; m < 5; m++) {
      const r = await w.messages.send(
        { appId: app.id, eventType: 't', eventId: `e${m}`, payload: '{}', schemaVersion: 0 },
        ids,
        now,
      );
      if ('message' in r) {
        await w.messages.recordAttempt(
          {
            appId: app.id,
            messageId: r.message.id,
            endpointId: 'ep_x',
            status: 'failed',
            responseStatus: 500,
            responseHeaders: null,
            durationMs: 3,
            error: 'e',
          },
          ids,
          now,
        );
      }
    }
    if (a === 5) await w.apps.softDelete(app.id, now);
  }
  for (let i = 0; i < 5; i++) await w.eventTypes.create(`type${i}`, '', now);
}

/** Appends events with deliveries: some done, some dead, some pending, so every index has rows. */
async function seedEvents(store: Store, count: number, now: number): Promise<void> {
  let clock = now - 60_000;
  const ids = new Snowflake({ nodeId: 4, now: () => clock });
  for (let i = 0; i < count; i++) {
    clock += 10;
    const source = i % 2 ? 'stripe' : 'github';
    await store.events.append(
      { source, type: `t${i % 3}`, externalId: `x${i}`, payload: `${i}` },
      ['sub', 'crm'],
      ids,
    );
  }
  const claimed = await store.deliveries.claim('seed', Math.floor(count / 2), 30_000, now);
  for (const [i, d] of claimed.entries()) {
    if (i % 2) await store.deliveries.deadLetter(d.id, 'seed', 'e', 500, now);
    else await store.deliveries.complete(d.id, 'seed', now);
  }
  for (let i = 0; i < count; i++) await store.inbox.process('c', `m${i}`, async () => i, now - i);
  await store.pollCursors.acquireLease('s', 'o', 30_000, now);
}

const SQLITE_INDEX_USE = /USING (COVERING INDEX|INDEX|INTEGER PRIMARY KEY|PRIMARY KEY)/;

async function sqlitePlan(store: Store, query: Compilable): Promise<string[]> {
  const { sql: text, parameters } = query.compile();
  const { rows } = await store.db.executeQuery<{ detail: string }>(
    CompiledQuery.raw(`explain query plan ${text}`, [...parameters]),
  );
  return rows.map((r) => r.detail);
}

/** Why the plan is unacceptable, or undefined when it is fine. */
function judgeSqlite(details: string[], kind: Kind): string | undefined {
  if (details.some((d) => d.includes('USE TEMP B-TREE'))) return 'sorts instead of reading in index order';
  const bareScan = details.find((d) => /^SCAN \S+$/.test(d));
  if (kind === 'lookup') {
    if (bareScan !== undefined) return `full scan: ${bareScan}`;
    if (!details.some((d) => SQLITE_INDEX_USE.test(d))) return 'no index used';
  }
  if ((kind === 'upsert' || kind === 'insert') && details.some((d) => d.startsWith('SCAN'))) return 'scans';
  return undefined;
}

interface PgNode {
  'Node Type': string;
  'Index Name'?: string;
  'Conflict Arbiter Indexes'?: string[];
  Plans?: PgNode[];
}

async function postgresPlan(store: Store, query: Compilable): Promise<PgNode[]> {
  const { sql: text, parameters } = query.compile();
  return store.db.transaction().execute(async (trx) => {
    await sql`set local enable_seqscan = off`.execute(trx);
    const { rows } = await trx.executeQuery<{ 'QUERY PLAN': [{ Plan: PgNode }] }>(
      CompiledQuery.raw(`explain (format json) ${text}`, [...parameters]),
    );
    const flat: PgNode[] = [];
    const visit = (node: PgNode) => {
      flat.push(node);
      for (const child of node.Plans ?? []) visit(child);
    };
    visit(rows[0]!['QUERY PLAN'][0].Plan);
    return flat;
  });
}

function judgePostgres(nodes: PgNode[], kind: Kind): string | undefined {
  const types = nodes.map((n) => n['Node Type']);
  if (types.includes('Seq Scan')) return `sequential scan in ${types.join(' > ')}`;
  const indexed = types.some(
    (t) => t === 'Index Scan' || t === 'Index Only Scan' || t === 'Bitmap Index Scan',
  );
  if ((kind === 'lookup' || kind === 'ordered') && !indexed) return `no index scan in ${types.join(' > ')}`;
  if (kind === 'ordered' && types.includes('Sort')) return 'sorts instead of reading in index order';
  if (kind === 'upsert' && !nodes.some((n) => (n['Conflict Arbiter Indexes'] ?? []).length > 0)) {
    return 'no arbiter index for ON CONFLICT';
  }
  return undefined;
}

async function judge(
  store: Store,
  query: Compilable,
  kind: Kind,
  uses?: string,
): Promise<{ verdict?: string; plan: unknown }> {
  if (store.dialect === 'sqlite') {
    const plan = await sqlitePlan(store, query);
    const missing =
      uses !== undefined && !plan.some((d) => d.includes(`INDEX ${uses} `) || d.endsWith(`INDEX ${uses}`));
    return { verdict: judgeSqlite(plan, kind) ?? (missing ? `does not read ${uses}` : undefined), plan };
  }
  const plan = await postgresPlan(store, query);
  const missing = uses !== undefined && !plan.some((n) => n['Index Name'] === uses);
  return {
    verdict: judgePostgres(plan, kind) ?? (missing ? `does not read ${uses}` : undefined),
    plan: plan.map((n) => (n['Index Name'] ? `${n['Node Type']} ${n['Index Name']}` : n['Node Type'])),
  };
}

for (const target of targets) {
  describe(`query plans on ${target.dialect} (Q49)`, () => {
    test('every repository query is served by an index', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const now = Date.now();
      for (let i = 0; i < 5; i++) await store.nodes.lease(`n${i}`, 30_000, now);
      await seedRevisions(store, 30);
      await seedAuditLog(store, 60);
      await seedEvents(store, 40, now);
      const cases = repositoryQueries(store, now);
      assert.ok(cases.length >= 10);
      for (const { name, query, kind, uses } of cases) {
        const { verdict, plan } = await judge(store, query, kind, uses);
        assert.equal(verdict, undefined, `${name}: ${verdict} — plan ${JSON.stringify(plan)}`);
      }
    });

    test('every outbound webhook query is served by an index', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const now = Date.now();
      await seedWebhooks(store, now);
      for (const { name, query, kind, uses } of webhookQueries(store, now)) {
        const { verdict, plan } = await judge(store, query, kind, uses);
        assert.equal(verdict, undefined, `${name}: ${verdict} — plan ${JSON.stringify(plan)}`);
      }
    });

    test('the plan check catches a query on an unindexed column', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const unindexed = store.db.selectFrom('nodes').selectAll().where('instance_id', '=', 'x');
      assert.notEqual((await judge(store, unindexed, 'lookup')).verdict, undefined);
      const sorted = store.db.selectFrom('config_revisions').selectAll().orderBy('created_at', 'desc');
      assert.notEqual((await judge(store, sorted, 'ordered')).verdict, undefined);
    });
  });
}
