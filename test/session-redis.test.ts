/**
 * `auth.session` with sessions in Redis: two gateway nodes sharing one key prefix share sessions
 * (sign in on one, browse on the other, log out anywhere), a state works once across nodes, and a
 * refresh is redeemed once however many nodes find the token due. Needs Redis on 127.0.0.1:6379;
 * each test uses its own prefix and deletes its keys afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import { closeSessionStores } from '../src/ingress/policies/session/index.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { api, Browser, gatewayConfig, type SessionSetup, sessionGateway } from './helpers/session.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

async function twoNodes(
  t: TestContext,
): Promise<{ s: SessionSetup; other: TestGateway; redis: Redis; prefix: string }> {
  const prefix = `junction:test:${randomBytes(6).toString('hex')}:`;
  const session = { store: { redis: { url: REDIS_URL, keyPrefix: prefix } } };
  const s = await sessionGateway(t, { session });
  const other = await startTestGateway(t, gatewayConfig(s.op.issuer, s.up.url, { session }));
  t.after(() => closeSessionStores(other.gateway.services));
  const redis = new Redis(REDIS_URL);
  t.after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  return { s, other, redis, prefix };
}

/** The same request sent to another node: the browser's cookies, that node's address. */
function on(node: TestGateway, b: Browser, s: SessionSetup, path: string, init: RequestInit = {}) {
  const cookie = [...b.cookies(s.gw.url())].map(([k, v]) => `${k}=${v}`).join('; ');
  return fetch(node.url(path), {
    ...init,
    redirect: 'manual',
    headers: { accept: 'application/json', cookie, ...(init.headers as Record<string, string>) },
  });
}

test('a session started on one node is valid on another, and logging out on either ends it', async (t) => {
  const { s, other, redis, prefix } = await twoNodes(t);
  const b = new Browser();
  const done = await s.signIn(b);
  assert.equal(done.status, 302);
  assert.equal(
    (await s.gw.gateway.store.db.selectFrom('sessions').select('id').execute()).length,
    0,
    'not in SQL',
  );
  const keys = await redis.keys(`${prefix}s:*`);
  assert.equal(keys.length, 1);
  const stored = await redis.hget(keys[0]!, 'd');
  for (const token of s.op.stored('RefreshToken').keys())
    assert.ok(!stored!.includes(token), 'sealed at rest');
  assert.ok((await redis.pttl(keys[0]!)) > 0, 'expires with the session');

  const res = await on(other, b, s, '/api/me');
  assert.equal(res.status, 200);
  assert.equal(s.up.seen.at(-1)!.headers['x-junction-principal'], 'alice');

  const out = await on(other, b, s, '/auth/logout', { method: 'POST' });
  assert.equal(out.status, 303);
  assert.equal((await api(b, s, '/api/me')).status, 401, 'gone on the first node too');
  assert.deepEqual(await redis.keys(`${prefix}s:*`), []);
});

test('a callback replayed against another node is refused (state is single-use cluster-wide)', async (t) => {
  const { s, other } = await twoNodes(t);
  const b = new Browser();
  const callback = await s.startLogin(b);
  assert.equal((await b.fetch(callback)).status, 302);
  const path = callback.slice(s.gw.url('').length);
  const replay = await on(other, b, s, path);
  assert.equal(replay.status, 400);
  assert.equal(((await replay.json()) as { code: string }).code, 'session_state_invalid');
});

test('nodes that find the same token due redeem the refresh token once', async (t) => {
  const { s, other, redis, prefix } = await twoNodes(t);
  const b = new Browser();
  await s.signIn(b);
  const [key] = await redis.keys(`${prefix}s:*`);
  const record = JSON.parse((await redis.hget(key!, 'd'))!) as { accessExpiresAt: number };
  record.accessExpiresAt = Date.now() + 10_000; // inside the 60 s refresh window, still valid
  await redis.hset(key!, 'd', JSON.stringify(record));

  const answers = await Promise.all([
    ...[1, 2, 3].map(() => api(b, s, '/api/me')),
    ...[1, 2, 3].map(() => on(other, b, s, '/api/me')),
  ]);
  assert.deepEqual(
    answers.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  assert.deepEqual(s.op.grants, ['authorization_code', 'refresh_token']);
});
