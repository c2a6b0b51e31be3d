import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Value } from 'typebox/value';
import { type SubscriptionConfig, SubscriptionSchema } from '../config/events-schema.ts';
import { Snowflake } from '../core/ids.ts';
import { createLogger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import { openStore, type Store } from '../store/index.ts';
import { EventPipeline, type PipelineOptions } from './pipeline.ts';
import { compileSubscriptions } from './subscriptions.ts';

const services = () => ({
  ids: new Snowflake({ nodeId: 1 }),
  logger: createLogger({ level: 'silent' }),
  metrics: createMetrics({ defaultMetrics: false }),
});

async function memoryStore(t: TestContext): Promise<Store> {
  const store = await openStore({ url: 'sqlite::memory:', env: {} });
  t.after(() => store.close());
  await store.migrate();
  return store;
}

/** The store's event repository, with its lookups and key pages counted. */
function counting(store: Store) {
  const calls = { idOf: 0, pages: 0 };
  const events = store.events;
  const wrapped = {
    append: events.append.bind(events),
    idOf: (source: string, id: string) => {
      calls.idOf++;
      return events.idOf(source, id);
    },
    async *dedupeKeys(batch?: number) {
      for await (const page of events.dedupeKeys(batch)) {
        calls.pages++;
        yield page;
      }
    },
  } as unknown as Store['events'];
  return { store: { events: wrapped }, calls };
}

function pipeline(store: PipelineOptions['store'], extra: Partial<PipelineOptions> = {}) {
  return new EventPipeline({
    store,
    services: services(),
    dedupe: { expectedIds: 10_000, falsePositiveRate: 0.001 },
    subscriptions: [],
    ...extra,
  });
}

const event = (externalId?: string, type = 'charge.succeeded') => ({
  source: 'stripe',
  type,
  externalId,
  payload: JSON.stringify({ amount: 1500 }),
});

test('a new id skips the store lookup; a seen one is looked up and answered as the stored event', async (t) => {
  const { store, calls } = counting(await memoryStore(t));
  const p = pipeline(store);
  await p.rebuild();
  const first = await p.accept(event('evt_1'));
  assert.equal(first.duplicate, false);
  assert.equal(calls.idOf, 0, 'definitely new: no lookup');
  assert.deepEqual(await p.accept(event('evt_1')), { id: first.id, duplicate: true });
  assert.equal(calls.idOf, 1, 'maybe seen: one lookup');
});

test('rebuild reads every stored key page by page, so ids stored before the start are looked up', async (t) => {
  const real = await memoryStore(t);
  const ids = new Snowflake({ nodeId: 2 });
  for (let i = 0; i < 2500; i++)
    await real.events.append(
      { source: i % 2 ? 'a' : 'b', type: 't', externalId: `k${i}`, payload: '' },
      [],
      ids,
    );
  await real.events.append({ source: 'a', type: 't', payload: 'no id' }, [], ids);
  const { store, calls } = counting(real);
  const p = pipeline(store, { rebuildBatch: 1000 });
  assert.equal(await p.rebuild(), 2500);
  assert.equal(calls.pages, 3);
  const old = await p.accept({ source: 'a', type: 't', externalId: 'k1', payload: '' });
  assert.equal(old.duplicate, true);
  assert.equal(calls.idOf, 1);
  await p.accept({ source: 'a', type: 't', externalId: 'k2', payload: '' }); // k2 is b's, not a's
  assert.equal((await real.events.list({ source: 'a', limit: 10 })).items[0]!.externalId, 'k2');
});

test('an id the filter never saw (stored by another node) still ends as a duplicate at the unique index', async (t) => {
  const real = await memoryStore(t);
  const { store, calls } = counting(real);
  const p = pipeline(store);
  await p.rebuild();
  const other = await real.events.append(event('evt_elsewhere'), [], new Snowflake({ nodeId: 9 }));
  assert.equal(other.duplicate, false);
  const r = await p.accept(event('evt_elsewhere'));
  assert.equal(calls.idOf, 0, 'the filter said new');
  assert.deepEqual(r, { id: other.event.id, duplicate: true });
  assert.equal((await real.events.list({ limit: 10 })).items.length, 1);
});

test('events without an external id are never deduplicated', async (t) => {
  const real = await memoryStore(t);
  const p = pipeline(real);
  const a = await p.accept(event());
  const b = await p.accept(event());
  assert.notEqual(a.id, b.id);
  assert.equal((await real.events.list({ limit: 10 })).items.length, 2);
});

test('the matching subscriptions get their deliveries in the same append', async (t) => {
  const real = await memoryStore(t);
  const sub = (extra: object) =>
    Value.Default(SubscriptionSchema, {
      destination: { type: 'http', url: 'http://127.0.0.1:9/x' },
      ...extra,
    }) as SubscriptionConfig;
  const subscriptions = compileSubscriptions(
    {
      charges: sub({ types: ['charge.*'] }),
      big: sub({ filter: 'payload.amount >= 1000' }),
      github: sub({ sources: ['github'] }),
    },
    new Set(['stripe', 'github']),
    () => assert.fail('no config issue expected'),
  );
  const p = pipeline(real, { subscriptions });
  const r = await p.accept(event('evt_m'));
  const deliveries = await real.deliveries.forEvent(r.id);
  assert.deepEqual(deliveries.map((d) => d.subscription).sort(), ['big', 'charges']);
  const none = await p.accept({ ...event('evt_n', 'refund.created'), payload: '{"amount":1}' });
  assert.deepEqual(await real.deliveries.forEvent(none.id), []);
});

test('a store that fails is event_not_stored (503, retry); a record the store refuses is event_invalid', async (t) => {
  const real = await memoryStore(t);
  const failing = {
    events: { ...real.events, append: () => Promise.reject(new Error('database is locked')) },
  } as unknown as Pick<Store, 'events'>;
  const p = pipeline(failing);
  await assert.rejects(p.accept(event('evt_f')), (err: { code: string; status: number }) => {
    assert.equal(err.code, 'event_not_stored');
    assert.equal(err.status, 503);
    return true;
  });
  await assert.rejects(pipeline(real).accept(event('evt_t', 'x'.repeat(300))), { code: 'event_invalid' });
});

test('false positives are reported to the filter and show in the observed-rate gauge', async (t) => {
  const real = await memoryStore(t);
  const svc = services();
  // A filter far too small for 50 ids: it soon answers "maybe" for new ones.
  const p = pipeline(real, { services: svc, dedupe: { expectedIds: 4, falsePositiveRate: 0.5 } });
  for (let i = 0; i < 50; i++) assert.equal((await p.accept(event(`evt_${i}`))).duplicate, false);
  const text = await svc.metrics.registry.metrics();
  const ratio = Number(/^junction_events_bloom_false_positive_ratio (\S+)$/m.exec(text)?.[1]);
  const saved = Number(
    /^junction_events_dedupe_lookups_saved_total\{source="stripe"\} (\S+)$/m.exec(text)?.[1],
  );
  assert.ok(ratio > 0.5, `observed ${ratio}`);
  assert.equal(
    Math.round(saved + ratio * 50),
    50,
    'every new id was either saved a lookup or a false positive',
  );
  assert.match(text, /^junction_events_received_total\{source="stripe",result="stored"\} 50$/m);
});
