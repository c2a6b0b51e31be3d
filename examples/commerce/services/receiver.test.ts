import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { type Failure, type Received, start } from './receiver.ts';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

async function startAcme(t: TestContext) {
  const acme = await start({ port: 0, secret: SECRET });
  t.after(() => acme.close());
  let n = 0;
  /** Posts one delivery the way Junction does: the payload as the body, Standard Webhooks headers. */
  const deliver = (payload: unknown, opts: { secret?: string; type?: string; id?: string } = {}) => {
    const id = opts.id ?? `msg_${++n}`;
    const body = JSON.stringify(payload);
    const signature = new Webhook(opts.secret ?? SECRET).sign(id, new Date(), body);
    return fetch(`${acme.url}/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': signature,
        'x-junction-event-type': opts.type ?? 'order.created',
      },
      body,
    });
  };
  const received = async () =>
    ((await (await fetch(`${acme.url}/received`)).json()) as { data: Received[] }).data;
  const fail = async (body: unknown) =>
    fetch(`${acme.url}/fail`, { method: 'POST', body: JSON.stringify(body) });
  return { acme, deliver, received, fail };
}

test('takes a delivery signed with its secret: 204, listed verified with its webhook-id, type and payload', async (t) => {
  const { deliver, received } = await startAcme(t);
  assert.equal((await deliver({ id: 'ord_1' }, { id: 'msg_a' })).status, 204);
  assert.equal((await deliver({ id: 'ord_1' }, { id: 'msg_b', type: 'order.shipped' })).status, 204);
  const list = await received();
  assert.deepEqual(
    list.map(({ webhookId, type, verified, status, payload }) => ({
      webhookId,
      type,
      verified,
      status,
      payload,
    })),
    [
      { webhookId: 'msg_a', type: 'order.created', verified: true, status: 204, payload: { id: 'ord_1' } },
      { webhookId: 'msg_b', type: 'order.shipped', verified: true, status: 204, payload: { id: 'ord_1' } },
    ],
    'oldest first, newest last',
  );
});

test('refuses a delivery signed with another secret or unsigned: 401, listed unverified without its payload', async (t) => {
  const { acme, deliver, received } = await startAcme(t);
  const forged = await deliver({ id: 'ord_1' }, { secret: `whsec_${randomBytes(32).toString('base64')}` });
  assert.equal(forged.status, 401);
  assert.equal(((await forged.json()) as { error: string }).error, 'unverified');
  const unsigned = await fetch(`${acme.url}/webhooks`, { method: 'POST', body: '{"id":"ord_1"}' });
  assert.equal(unsigned.status, 401);
  await unsigned.body?.cancel();
  const list = await received();
  assert.deepEqual(
    list.map((r) => [r.verified, r.status, 'payload' in r]),
    [
      [false, 401, false],
      [false, 401, false],
    ],
  );
  assert.equal(list[1]!.webhookId, null);
});

test('POST /fail answers that status to every delivery until healed, still recording and verifying them', async (t) => {
  const { deliver, received, fail } = await startAcme(t);
  assert.deepEqual(await (await fail({ status: 503 })).json(), { status: 503, count: null });
  const first = await deliver({ id: 'ord_1' }, { id: 'msg_x' });
  assert.equal(first.status, 503);
  assert.equal(((await first.json()) as { error: string }).error, 'failing');
  assert.equal((await deliver({ id: 'ord_1' }, { id: 'msg_x' })).status, 503, 'a retry fails too');
  await fail({ status: 410 });
  assert.equal((await deliver({ id: 'ord_2' }, { id: 'msg_y' })).status, 410);
  assert.deepEqual(await (await fail({ status: null })).json(), { status: null, count: null });
  assert.equal((await deliver({ id: 'ord_1' }, { id: 'msg_x' })).status, 204);
  assert.deepEqual(
    (await received()).map((r) => [r.webhookId, r.status, r.verified]),
    [
      ['msg_x', 503, true],
      ['msg_x', 503, true],
      ['msg_y', 410, true],
      ['msg_x', 204, true],
    ],
  );
});

test('POST /fail with a count fails the next n deliveries only', async (t) => {
  const { acme, deliver, fail } = await startAcme(t);
  await fail({ status: 500, count: 2 });
  assert.equal((await deliver({})).status, 500);
  assert.deepEqual((await (await fetch(`${acme.url}/fail`)).json()) as Failure, { status: 500, count: 1 });
  assert.equal((await deliver({})).status, 500);
  assert.equal((await deliver({})).status, 204);
  assert.deepEqual(await (await fetch(`${acme.url}/fail`)).json(), { status: null, count: null });
});

test('POST /fail refuses what is not a failure status: 400', async (t) => {
  const { fail } = await startAcme(t);
  for (const body of [
    {},
    { status: 200 },
    { status: '503' },
    { status: 503, count: 0 },
    { status: 503, x: 1 },
    [],
  ]) {
    const res = await fail(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_failure');
  }
});
