/**
 * Q28: nodes are interchangeable. Two gateways on one PostgreSQL database serve the same routes,
 * lease distinct Snowflake node ids, and see each other's records; nothing a request needs lives in
 * one node's memory.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { parseId } from '../src/core/ids.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { startUpstream } from './helpers/upstream.ts';

const PG = process.env.JUNCTION_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

test('two nodes on one database serve the same routes with distinct node ids', async (t) => {
  const name = `junction_q28_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`); // name is generated above, not input
  const url = new URL(PG);
  url.pathname = `/${name}`;

  const up = await startUpstream(t);
  const config = {
    store: { url: url.toString() },
    upstreams: { app: { targets: [up.url] } },
    routes: [{ name: 'app', match: { path: '/app' }, proxy: { upstream: 'app' } }],
  };
  const a = await startTestGateway(t, config);
  const b = await startTestGateway(t, config);
  // After hooks run in the order they were added: the gateways close (flushing their audit records)
  // before the database goes.
  t.after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  const ids: string[] = [];
  for (const gw of [a, b, a, b]) {
    const res = await fetch(gw.url('/app'));
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    ids.push(res.headers.get('x-request-id')!);
  }
  const nodeBits = new Set(ids.map((id) => parseId(id).nodeId));
  assert.equal(nodeBits.size, 2, 'each node stamps ids with its own node id');
  assert.equal(new Set(ids).size, ids.length);

  // The lease table is shared: either node lists both.
  const nodes = (await (await fetch(b.adminUrl('/admin/v1/nodes'), { headers: b.auth })).json()) as {
    data: { nodeId: number }[];
  };
  assert.deepEqual(new Set(nodes.data.map((n) => n.nodeId)), nodeBits);

  // A reload recorded through node A is visible through node B's admin API.
  const reload = (await (
    await fetch(a.adminUrl('/admin/v1/config/reload'), { method: 'POST', headers: a.auth })
  ).json()) as {
    revision: string;
  };
  const revisions = (await (
    await fetch(b.adminUrl('/admin/v1/config/revisions'), { headers: b.auth })
  ).json()) as {
    data: { id: string }[];
  };
  assert.ok(revisions.data.some((r) => r.id === reload.revision));
});
