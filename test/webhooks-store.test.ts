/** Outbound webhook repositories on SQLite and PostgreSQL: uniqueness, fan-out, soft delete, purge, paging. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Snowflake } from '../src/core/ids.ts';
import type { Store } from '../src/store/index.ts';
import { targets } from '../src/store/testing.ts';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const DAY = 86_400_000;

async function app(store: Store, ids: Snowflake, uid: string | null, tenant = '') {
  const a = await store.webhooks.apps.create({
    id: ids.next('app'),
    tenant,
    uid,
    name: `app ${uid}`,
    now: Date.now(),
  });
  assert.ok(a);
  return a;
}

async function endpoint(store: Store, ids: Snowflake, appId: string, extra: Record<string, unknown> = {}) {
  const ep = await store.webhooks.endpoints.create({
    id: ids.next('ep'),
    appId,
    url: 'https://hooks.example.com/x',
    secret: SECRET,
    now: Date.now(),
    ...extra,
  });
  assert.ok(ep);
  return ep;
}

for (const target of targets) {
  describe(`webhook repositories on ${target.dialect}`, () => {
    test('a uid is unique per tenant among live applications; a deleted one frees it', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const ids = new Snowflake({ nodeId: 1 });
      const first = await app(store, ids, 'acme');
      assert.equal(
        await store.webhooks.apps.create({ id: ids.next('app'), tenant: '', uid: 'acme', name: 'x', now: 1 }),
        undefined,
      );
      await app(store, ids, 'acme', 'other-tenant');
      assert.ok(await store.webhooks.apps.softDelete(first.id, Date.now()));
      assert.equal(await store.webhooks.apps.get(first.id), undefined, 'hidden once deleted');
      const second = await app(store, ids, 'acme');
      assert.equal((await store.webhooks.apps.restore(first.id, 0, Date.now())) as string, 'conflict');
      await store.webhooks.apps.softDelete(second.id, Date.now());
      const restored = await store.webhooks.apps.restore(first.id, 0, Date.now());
      assert.equal(typeof restored === 'object' && restored.deletedAt, null);
    });

    test('send stores the message and queues one delivery per matching live endpoint, once per eventId', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const ids = new Snowflake({ nodeId: 1 });
      const a = await app(store, ids, 'shop');
      const all = await endpoint(store, ids, a.id);
      const orders = await endpoint(store, ids, a.id, { filterTypes: ['order.created'] });
      await endpoint(store, ids, a.id, { filterTypes: ['invoice.paid'] });
      await endpoint(store, ids, a.id, { disabled: true });
      const eu = await endpoint(store, ids, a.id, { channels: ['eu'] });
      const gone = await endpoint(store, ids, a.id);
      await store.webhooks.endpoints.softDelete(a.id, gone.id, Date.now());

      const input = {
        appId: a.id,
        eventType: 'order.created',
        eventId: 'o-1',
        payload: '{"n":1}',
        schemaVersion: 0,
      };
      const sent = await store.webhooks.messages.send({ ...input, channels: ['eu'] }, ids, Date.now());
      assert.ok('duplicate' in sent && !sent.duplicate);
      assert.deepEqual(new Set(sent.endpoints), new Set([all.id, orders.id, eu.id]));
      const deliveries = await store.deliveries.forEvent(sent.message.queueEventId);
      assert.deepEqual(
        new Set(deliveries.map((d) => d.subscription)),
        new Set([all.id, orders.id, eu.id].map((id) => `ep:${id}`)),
      );
      const event = await store.events.get(sent.message.queueEventId);
      assert.equal(event?.source, `app:${a.id}`);
      assert.equal(event?.payload.toString(), '{"n":1}');

      const again = await store.webhooks.messages.send(input, ids, Date.now());
      assert.ok('duplicate' in again && again.duplicate);
      assert.equal(again.message.id, sent.message.id);
      const noChannel = await store.webhooks.messages.send({ ...input, eventId: null }, ids, Date.now());
      assert.ok('duplicate' in noChannel && !noChannel.duplicate);
      assert.deepEqual(
        new Set(noChannel.endpoints),
        new Set([all.id, orders.id]),
        'a channel endpoint needs the channel',
      );

      await store.webhooks.apps.softDelete(a.id, Date.now());
      assert.deepEqual(await store.webhooks.messages.send({ ...input, eventId: 'o-2' }, ids, Date.now()), {
        appGone: true,
      });
    });

    test('an endpoint keeps its schedule, limits and signing key; a run of failures is written once', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const ids = new Snowflake({ nodeId: 1 });
      const a = await store.webhooks.apps.create({
        id: ids.next('app'),
        tenant: '',
        name: 'scheduled',
        retryScheduleMs: [1_000, 2_000],
        now: Date.now(),
      });
      assert.deepEqual(a?.retryScheduleMs, [1_000, 2_000]);
      const patched = await store.webhooks.apps.update(a?.id ?? '', { name: 'renamed' }, Date.now());
      assert.deepEqual(
        typeof patched === 'object' && patched.retryScheduleMs,
        [1_000, 2_000],
        'kept by a patch',
      );
      const ep = await endpoint(store, ids, a?.id ?? '', {
        retryScheduleMs: [5],
        maxConcurrency: 2,
        signingKey: 'whsk_x',
      });
      assert.deepEqual(
        [ep.retryScheduleMs, ep.maxConcurrency, ep.signingKey, ep.failingSince],
        [[5], 2, 'whsk_x', null],
      );

      assert.equal(await store.webhooks.endpoints.markFailing(ep.id, 1_000), true, 'starts the run');
      assert.equal(await store.webhooks.endpoints.markFailing(ep.id, 2_000), false, 'already failing');
      assert.equal(
        (await store.webhooks.endpoints.byId(ep.id))?.failingSince,
        1_000,
        'the run began at the first failure',
      );
      assert.equal(await store.webhooks.endpoints.markHealthy(ep.id), true);
      assert.equal(await store.webhooks.endpoints.markHealthy(ep.id), false, 'nothing to clear');
      await store.webhooks.endpoints.markFailing(ep.id, 3_000);
      await store.webhooks.endpoints.update(ep.appId, ep.id, { disabled: true }, Date.now());
      const enabled = await store.webhooks.endpoints.update(ep.appId, ep.id, { disabled: false }, Date.now());
      assert.equal(enabled?.failingSince, null, 'enabling again starts the count afresh');
      const cleared = await store.webhooks.endpoints.update(
        ep.appId,
        ep.id,
        { retryScheduleMs: null, maxConcurrency: null, signingKey: null },
        Date.now(),
      );
      assert.deepEqual(
        [cleared?.retryScheduleMs, cleared?.maxConcurrency, cleared?.signingKey],
        [null, null, null],
      );
    });

    test('purge removes what was deleted before retention, with what it owns; restore refuses it after', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const ids = new Snowflake({ nodeId: 1 });
      const now = Date.now();
      const old = await app(store, ids, 'old');
      const ep = await endpoint(store, ids, old.id);
      await store.webhooks.messages.send(
        { appId: old.id, eventType: 't', payload: '{}', schemaVersion: 0 },
        ids,
        now,
      );
      const recent = await app(store, ids, 'recent');
      const oldEp = await endpoint(store, ids, recent.id);
      await store.webhooks.apps.softDelete(old.id, now - 31 * DAY);
      await store.webhooks.endpoints.softDelete(recent.id, oldEp.id, now - 40 * DAY);
      await store.webhooks.apps.softDelete(recent.id, now - DAY);

      assert.equal(await store.webhooks.apps.restore(old.id, now - 30 * DAY, now), undefined);
      assert.equal(await store.webhooks.apps.purge(now - 30 * DAY), 1);
      assert.equal(await store.webhooks.endpoints.purge(now - 30 * DAY), 1);
      assert.equal(await store.webhooks.apps.get(old.id, { deleted: true }), undefined);
      assert.equal(await store.webhooks.endpoints.byId(ep.id), undefined, 'cascaded');
      assert.equal(await store.webhooks.endpoints.byId(oldEp.id), undefined);
      assert.equal((await store.webhooks.messages.list(old.id, { limit: 10 })).items.length, 0);
      assert.ok(await store.webhooks.apps.get(recent.id, { deleted: true }), 'within retention: kept');
    });

    test('concurrent sends of one eventId store one message', async (t) => {
      const site = await target.setup(t);
      const store = await site.openMigrated();
      // PostgreSQL: two pools racing. SQLite: one connection per process (a second one in the same
      // process would block the event loop on the file lock the first holds across an await).
      const other = target.dialect === 'postgres' ? await site.open() : store;
      const ids = new Snowflake({ nodeId: 1 });
      const a = await app(store, ids, 'race');
      await endpoint(store, ids, a.id);
      const input = { appId: a.id, eventType: 't', eventId: 'same', payload: '{}', schemaVersion: 0 };
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? other : store).webhooks.messages.send(input, ids, Date.now()),
        ),
      );
      const fresh = results.filter((r) => 'duplicate' in r && !r.duplicate);
      assert.equal(fresh.length, 1);
      const id = 'message' in fresh[0]! ? fresh[0].message.id : '';
      assert.ok(results.every((r) => 'message' in r && r.message.id === id));
      assert.equal((await store.deliveries.list('pending', { limit: 100 })).items.length, 1, 'one fan-out');
    });

    test('payloads past retention are dropped, the messages kept', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const ids = new Snowflake({ nodeId: 1 });
      const a = await app(store, ids, 'ret');
      const now = Date.now();
      const send = (at: number) =>
        store.webhooks.messages.send(
          { appId: a.id, eventType: 't', payload: '{"x":1}', schemaVersion: 0 },
          ids,
          at,
        );
      await send(now - 91 * DAY);
      await send(now);
      assert.equal(await store.webhooks.messages.purgePayloads(now - 90 * DAY), 1);
      const { items } = await store.webhooks.messages.list(a.id, { limit: 10 });
      assert.deepEqual(
        items.map((m) => m.payload),
        ['{"x":1}', null],
      );
    });

    test('a cursor page stays stable while messages are inserted', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const ids = new Snowflake({ nodeId: 1 });
      const a = await app(store, ids, 'p');
      const send = (n: number) =>
        store.webhooks.messages.send(
          { appId: a.id, eventType: 't', payload: `{"n":${n}}`, schemaVersion: 0 },
          ids,
          Date.now(),
        );
      for (let i = 0; i < 25; i++) await send(i);
      const seen: string[] = [];
      let after: string | undefined;
      let inserted = 25;
      do {
        const page = await store.webhooks.messages.list(a.id, { limit: 7, after });
        seen.push(...page.items.map((m) => m.payload!));
        after = page.next;
        for (let i = 0; i < 3; i++) await send(inserted++);
      } while (after !== undefined);
      assert.deepEqual(
        seen,
        Array.from({ length: 25 }, (_, i) => `{"n":${24 - i}}`),
        'every message there at the start, once, newest first; later inserts never shift a page',
      );
    });

    test('schema versions are a compare-and-set: a stale writer is refused', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const types = store.webhooks.eventTypes;
      assert.ok(await types.create('order.created', 'An order', 1));
      assert.equal(await types.create('order.created', 'again', 2), undefined);
      const v1 = await types.addSchema('order.created', 0, { type: 'object' }, 'none', 3);
      assert.equal(typeof v1 === 'object' && v1.version, 1);
      assert.equal(await types.addSchema('order.created', 0, { type: 'object' }, 'backward', 4), 'stale');
      assert.equal((await types.schema('order.created'))?.version, 1);
      await types.archive('order.created', 5);
      assert.equal((await types.list(1, 10)).total, 0);
      assert.ok(await types.create('order.created', 'back', 6), 'an archived type is created again');
      assert.equal((await types.get('order.created'))?.version, 1, 'keeping its schemas');
    });
  });
}
