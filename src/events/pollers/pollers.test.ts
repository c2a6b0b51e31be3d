import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import type { PollerConfig } from '../../config/events-schema.ts';
import type { Store } from '../../store/index.ts';
import { postgresTarget, sqliteTarget } from '../../store/testing.ts';
import { startPollers } from './index.ts';
import { pollersConfig, quietServices, storeIntake, until } from './testing.ts';

interface Item {
  id: number;
  updated_at: number;
  name: string;
}

interface Hit {
  since: string | null;
  page: number;
  status: number;
  node: string | undefined;
}

const PAGE_SIZE = 3;

/**
 * A list API without webhooks: `GET /items?since=<updated_at>&page=<n>` lists items updated at or
 * after `since` in `updated_at` order, three a page with a relative `Link: <…>; rel="next"`; the
 * first page carries an ETag of the whole list and answers 304 to it. The very first request of all
 * is a 429 with `Retry-After: 1`, when `throttleFirst`.
 */
async function listApi(t: TestContext, options: { throttleFirst?: boolean } = {}) {
  const items = new Map<number, Item>();
  const hits: Hit[] = [];
  let throttle = options.throttleFirst ?? false;
  let lastEtag: string | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://api.test');
    const since = url.searchParams.get('since');
    const page = Number(url.searchParams.get('page') ?? '1');
    const answer = (status: number, headers: Record<string, string> = {}, body = '') => {
      hits.push({ since, page, status, node: req.headers['x-node'] as string | undefined });
      res.writeHead(status, headers).end(body);
    };
    if (throttle) {
      throttle = false;
      return answer(429, { 'retry-after': '1' });
    }
    const all = [...items.values()]
      .filter((i) => since === null || i.updated_at >= Number(since))
      .sort((a, b) => a.updated_at - b.updated_at);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (page === 1) {
      const etag = `"${createHash('sha256').update(JSON.stringify(all)).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) return answer(304, { etag });
      headers.etag = lastEtag = etag;
    }
    if (page * PAGE_SIZE < all.length) {
      const next = new URLSearchParams(url.searchParams);
      next.set('page', String(page + 1));
      headers.link = `</items?${next}>; rel="next", </items>; rel="first"`;
    }
    answer(200, headers, JSON.stringify({ data: all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE) }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  const put = (id: number, updated_at: number) =>
    items.set(id, { id, updated_at, name: `item ${id} v${updated_at}` });
  return { url: `http://127.0.0.1:${port}/items`, hits, put, etag: () => lastEtag };
}

function catalog(url: string, overrides: Partial<PollerConfig> = {}): Partial<PollerConfig> {
  return {
    url,
    intervalMs: 50,
    type: 'catalog.item',
    items: '/data',
    version: 'updated_at',
    cursor: { param: 'since', field: 'updated_at' },
    timeoutMs: 2_000,
    ...overrides,
  };
}

async function externalIds(store: Store, source: string): Promise<string[]> {
  const page = await store.events.list({ source, limit: 1000 });
  return page.items.map((e) => e.externalId ?? '').sort();
}

test('polls pages by Link, stores cursor and ETag after the items, then only changed or new items are events', async (t) => {
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  const api = await listApi(t, { throttleFirst: true });
  for (let id = 1; id <= 7; id++) api.put(id, id * 10);
  const services = quietServices();
  const intake = storeIntake(store, services);
  const pollers = startPollers({
    config: () => pollersConfig({ catalog: catalog(api.url) }),
    store,
    intake,
    services,
    owner: 'node-a',
  });
  t.after(() => pollers.close());

  // First poll: a 429 waited out (Retry-After: 1), then 7 items on 3 pages.
  await until(async () => (await externalIds(store, 'catalog')).length === 7, '7 events');
  assert.deepEqual(
    api.hits.slice(0, 4).map((h) => [h.status, h.page, h.since]),
    [
      [429, 1, null],
      [200, 1, null],
      [200, 2, null],
      [200, 3, null],
    ],
  );
  const first = await until(() => store.pollCursors.get('catalog'), 'a stored cursor');
  assert.equal(first.cursor, '70');
  // Polls go on from the cursor; the list since 70 has not changed, so the API answers 304.
  await until(() => api.hits.some((h) => h.status === 304 && h.since === '70'), 'a 304');
  assert.equal((await store.pollCursors.get('catalog'))?.etag, api.etag());

  // Item 2 changes, item 8 appears: two new events, nothing else.
  api.put(2, 80);
  api.put(8, 90);
  await until(async () => (await store.pollCursors.get('catalog'))?.cursor === '90', 'cursor 90');
  await until(() => api.hits.some((h) => h.status === 304 && h.since === '90'), 'a 304 from 90');
  const ids = await externalIds(store, 'catalog');
  assert.deepEqual(ids, ['1@10', '2@20', '2@80', '3@30', '4@40', '5@50', '6@60', '7@70', '8@90']);
  const changed = await store.events.list({ source: 'catalog', limit: 1 });
  assert.deepEqual(JSON.parse(changed.items[0]!.payload.toString()), {
    id: 8,
    updated_at: 90,
    name: 'item 8 v90',
  });
  assert.equal(changed.items[0]!.type, 'catalog.item');

  const metrics = await services.metrics.registry.metrics();
  assert.match(metrics, /junction_poll_items_total\{source="catalog",result="new"\} 9/);
  // The cursor is inclusive (`>=`): the newest item comes back on the next poll, as a duplicate.
  assert.match(metrics, /junction_poll_items_total\{source="catalog",result="duplicate"\} [1-9]/);
  assert.match(metrics, /junction_polls_total\{source="catalog",result="not_modified"\} [1-9]/);
  assert.match(metrics, /junction_poll_lease_held\{source="catalog"\} 1/);
});

test('a failing API is counted and polled again; items are accepted once it answers', async (t) => {
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  let up = false;
  const server = createServer((_req, res) => {
    if (!up) return res.writeHead(500).end('down');
    res.writeHead(200, { 'content-type': 'application/json' }).end('[{"id":"a"},{"id":"b"},{"nope":1}]');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const services = quietServices();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const pollers = startPollers({
    config: () => pollersConfig({ plain: { url, intervalMs: 50, type: 'thing', timeoutMs: 2_000 } }),
    store,
    intake: storeIntake(store, services),
    services,
    owner: 'node-a',
  });
  t.after(() => pollers.close());
  const registry = services.metrics.registry;
  await until(
    async () =>
      /junction_poll_errors_total\{source="plain",code="poll_status_unexpected"\} [1-9]/.test(
        await registry.metrics(),
      ),
    'an error counted',
  );
  up = true;
  await until(async () => (await externalIds(store, 'plain')).join() === 'a,b', 'events a and b');
  assert.match(
    await registry.metrics(),
    /junction_poll_items_total\{source="plain",result="invalid"\} [1-9]/,
  );
});

test('two nodes on one store: only the lease holder polls, the other takes over when it closes', async (t) => {
  const site = await postgresTarget.setup(t);
  const [storeA, storeB] = [await site.openMigrated(), await site.open()];
  const api = await listApi(t);
  api.put(1, 10);
  const node = (store: Store, name: string) => {
    const services = quietServices();
    return startPollers({
      config: () => pollersConfig({ shared: catalog(api.url, { headers: { 'x-node': name } }) }),
      store,
      intake: storeIntake(store, services),
      services,
      owner: name,
    });
  };
  const a = node(storeA, 'node-a');
  const b = node(storeB, 'node-b');
  t.after(() => Promise.all([a.close(), b.close()]));

  await until(() => api.hits.length >= 10, '10 polls');
  const pollers = new Set(api.hits.map((h) => h.node));
  assert.equal(pollers.size, 1, `one node polls, saw ${[...pollers].join(', ')}`);
  const [holder] = [...pollers];
  assert.equal((await storeA.pollCursors.get('shared'))?.leaseOwner, holder);

  await (holder === 'node-a' ? a : b).close();
  const other = holder === 'node-a' ? 'node-b' : 'node-a';
  await until(() => api.hits.some((h) => h.node === other), `${other} polling`);
  assert.equal((await storeA.pollCursors.get('shared'))?.leaseOwner, other);
  // The cursor the first node stored carries over: the second polls from it.
  assert.ok(api.hits.filter((h) => h.node === other).every((h) => h.since === '10'));
  assert.deepEqual(await externalIds(storeA, 'shared'), ['1@10']);
});

test('reload starts, restarts and stops pollers by config', async (t) => {
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  const api = await listApi(t);
  api.put(1, 10);
  const services = quietServices();
  let config = pollersConfig({ one: catalog(api.url, { headers: { 'x-node': 'v1' } }) });
  const pollers = startPollers({
    config: () => config,
    store,
    intake: storeIntake(store, services),
    services,
    owner: 'n',
  });
  t.after(() => pollers.close());
  await until(() => api.hits.some((h) => h.node === 'v1'), 'v1 polling');
  config = pollersConfig({ one: catalog(api.url, { headers: { 'x-node': 'v2' } }) });
  await pollers.reload();
  const at = api.hits.length;
  await until(() => api.hits.slice(at).some((h) => h.node === 'v2'), 'v2 polling');
  config = pollersConfig({});
  await pollers.reload();
  const after = api.hits.length;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(api.hits.length, after, 'no poll after the poller was removed');
  assert.equal((await store.pollCursors.get('one'))?.leaseOwner, null, 'the lease was released');
});

test('every request of a poll waits for its slot under the API rate', async (t) => {
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  const api = await listApi(t);
  for (let id = 1; id <= 9; id++) api.put(id, id);
  const at: number[] = [];
  const services = quietServices();
  const intake = storeIntake(store, services);
  const pollers = startPollers({
    // 4 requests a second: one every 250 ms.
    config: () => pollersConfig({ paced: catalog(api.url, { rate: { requests: 4, perMs: 1000 } }) }),
    store,
    intake: {
      accept: (e) => {
        if (at.length < api.hits.length) at.push(Date.now());
        return intake.accept(e);
      },
    },
    services,
    owner: 'n',
  });
  t.after(() => pollers.close());
  await until(async () => (await externalIds(store, 'paced')).length === 9, '9 events from 3 pages');
  // The first item of each page is accepted right after its page arrived.
  const gaps = at.slice(1, 3).map((ms, i) => ms - at[i]!);
  assert.ok(
    gaps.every((g) => g >= 200),
    `pages ${gaps.join(', ')} ms apart`,
  );
});

test('a 429 asking to wait long ends the poll; the next waits for Retry-After', async (t) => {
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(429, { 'retry-after': '3600' }).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const services = quietServices();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const pollers = startPollers({
    config: () => pollersConfig({ busy: { url, intervalMs: 20, type: 't', timeoutMs: 2_000 } }),
    store,
    intake: storeIntake(store, services),
    services,
    owner: 'n',
  });
  t.after(() => pollers.close());
  const registry = services.metrics.registry;
  await until(
    async () =>
      /junction_poll_errors_total\{source="busy",code="poll_throttled"\} 1/.test(await registry.metrics()),
    'a throttled poll',
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(hits, 1, 'no request during the hour the API asked for (the interval is 20 ms)');
});
