import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { start } from './users.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

async function startUsers(t: TestContext) {
  const users = await start({ port: 0 });
  t.after(() => users.close());
  return users;
}

test('lists the seeded users and fetches one by id', async (t) => {
  const { url } = await startUsers(t);
  const list = await fetch(`${url}/users`);
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('content-type'), JSON_TYPE);
  const { data } = (await list.json()) as { data: { id: string }[] };
  assert.ok(data.length >= 3);
  assert.ok(data.every((u) => u.id.startsWith('usr_')));

  const one = await fetch(`${url}/users/usr_ada`);
  assert.equal(one.status, 200);
  assert.deepEqual(await one.json(), { id: 'usr_ada', name: 'Ada Lovelace', email: 'ada@example.com' });
});

test('answers 404 JSON for an unknown user', async (t) => {
  const { url } = await startUsers(t);
  const res = await fetch(`${url}/users/usr_nobody`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), JSON_TYPE);
  assert.equal(((await res.json()) as { error: string }).error, 'user_not_found');
});

test('creates a user with a usr_ id that can then be fetched', async (t) => {
  const { url } = await startUsers(t);
  const res = await fetch(`${url}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Barbara Liskov', email: 'barbara@example.com' }),
  });
  assert.equal(res.status, 201);
  const created = (await res.json()) as { id: string; name: string; email: string };
  assert.match(created.id, /^usr_[0-9a-f]{16}$/);
  assert.equal(res.headers.get('location'), `/users/${created.id}`);
  assert.deepEqual(await (await fetch(`${url}/users/${created.id}`)).json(), created);
});

test('refuses invalid JSON with 400', async (t) => {
  const { url } = await startUsers(t);
  const res = await fetch(`${url}/users`, { method: 'POST', body: '{"name": "Ada",' });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: string }).error, 'invalid_json');
});

test('refuses a body without name or email with 400 naming the fields', async (t) => {
  const { url } = await startUsers(t);
  for (const body of [{}, { name: 'Ada' }, { name: 42, email: 'a@b.c' }, [], null]) {
    const res = await fetch(`${url}/users`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 400, JSON.stringify(body));
    const problem = (await res.json()) as { error: string; message: string };
    assert.equal(problem.error, 'invalid_user');
  }
  const res = await fetch(`${url}/users`, { method: 'POST', body: '{}' });
  assert.match(((await res.json()) as { message: string }).message, /name, email/);
});

test('refuses a body over 64 KB with 413, declared or streamed', async (t) => {
  const { url } = await startUsers(t);
  const big = JSON.stringify({ name: 'x'.repeat(70_000), email: 'a@b.c' });
  const declared = await fetch(`${url}/users`, { method: 'POST', body: big });
  assert.equal(declared.status, 413);
  assert.equal(((await declared.json()) as { error: string }).error, 'payload_too_large');

  // No content-length: the limit must hold while counting chunks, too.
  const chunked = await fetch(`${url}/users`, {
    method: 'POST',
    body: new Blob([big]).stream(),
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);
  await chunked.body?.cancel();
});

test('a body of exactly 64 KB is still accepted', async (t) => {
  const { url } = await startUsers(t);
  const prefix = JSON.stringify({ email: 'a@b.c', name: '' });
  const body = JSON.stringify({ email: 'a@b.c', name: 'n'.repeat(64 * 1024 - prefix.length) });
  assert.equal(Buffer.byteLength(body), 64 * 1024);
  const res = await fetch(`${url}/users`, { method: 'POST', body });
  assert.equal(res.status, 201);
  await res.body?.cancel();
});

test('answers /healthz, /debug/headers, 404 and 405', async (t) => {
  const { url } = await startUsers(t);
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get('content-type'), JSON_TYPE);
  assert.deepEqual(await health.json(), { status: 'ok' });

  const debug = await fetch(`${url}/debug/headers?x=1`, { headers: { traceparent: '00-abc-def-01' } });
  const echoed = (await debug.json()) as { headers: Record<string, string>; method: string; url: string };
  assert.equal(echoed.headers.traceparent, '00-abc-def-01');
  assert.equal(echoed.method, 'GET');
  assert.equal(echoed.url, '/debug/headers?x=1');

  assert.equal((await fetch(`${url}/nope`)).status, 404);
  const wrongMethod = await fetch(`${url}/users/usr_ada`, { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET');
});
