import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import Stripe from 'stripe';
import { type Payment, type PaymentsOptions, start } from './payments.ts';

async function startPayments(t: TestContext) {
  const payments = await start({ port: 0 });
  t.after(() => payments.close());
  const charge = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${payments.url}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const stats = async () => (await (await fetch(`${payments.url}/_stats`)).json()) as Record<string, number>;
  return { url: payments.url, charge, stats };
}

test('every POST /payments charges, records the forwarded key, and can be read back', async (t) => {
  const { url, charge, stats } = await startPayments(t);
  const res = await charge(
    { amount: 1250, currency: 'eur', description: 'mug' },
    { 'idempotency-key': 'k1' },
  );
  assert.equal(res.status, 201);
  const payment = (await res.json()) as Payment;
  assert.match(payment.id, /^pay_[0-9a-f]{16}$/);
  assert.equal(res.headers.get('location'), `/payments/${payment.id}`);
  assert.deepEqual(
    { ...payment, id: undefined, createdAt: undefined },
    {
      id: undefined,
      createdAt: undefined,
      amount: 1250,
      currency: 'EUR',
      description: 'mug',
      orderId: null,
      status: 'succeeded',
      idempotencyKey: 'k1',
    },
  );
  const again = await charge({ amount: 1250, currency: 'EUR' }, { 'idempotency-key': 'k1' });
  assert.equal(again.status, 201, 'the service itself does not deduplicate: the gateway does');
  assert.deepEqual(
    { ...(await stats()), webhooks: undefined },
    { charges: 2, inFlight: 0, payments: 2, webhooks: undefined },
  );
  const read = await fetch(`${url}/payments/${payment.id}`);
  assert.deepEqual(await read.json(), payment);
  assert.equal((await fetch(`${url}/payments/pay_missing`)).status, 404);
});

test('invalid payments are refused with 400 and charge nothing', async (t) => {
  const { charge, stats } = await startPayments(t);
  for (const body of [
    {},
    { amount: 0, currency: 'EUR' },
    { amount: 1.5, currency: 'EUR' },
    { amount: 100, currency: 'EURO' },
    { amount: 100, currency: 'EUR', description: 7 },
    { amount: 100, currency: 'EUR', processingMs: -1 },
    { amount: 100, currency: 'EUR', orderId: '' },
  ]) {
    const res = await charge(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_payment');
  }
  assert.equal((await stats()).charges, 0);
});

test('processingMs holds the charge that long and shows it in flight', async (t) => {
  const { charge, stats } = await startPayments(t);
  const started = performance.now();
  // Held 2 s and waited for rather than looked at after 50 ms: the charge must have arrived, and not
  // yet finished, when the count is read (with 200 ms, a slow machine missed either way).
  const pending = charge({ amount: 100, currency: 'USD', processingMs: 2_000 });
  let inFlight = 0;
  for (const until = Date.now() + 10_000; inFlight === 0 && Date.now() < until; ) {
    inFlight = (await stats()).inFlight!;
    if (inFlight === 0) await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(inFlight, 1);
  assert.equal((await pending).status, 201);
  assert.ok(performance.now() - started >= 2_000);
  assert.deepEqual(
    { ...(await stats()), webhooks: undefined },
    { charges: 1, inFlight: 0, payments: 1, webhooks: undefined },
  );
});

const SECRET = 'whsec_payments_test';
const stripe = new Stripe('sk_test_demo');

/** A stand-in for the gateway's /hooks/stripe: checks each delivery with stripe-node, answers as scripted. */
async function startReceiver(t: TestContext, statuses: number[]) {
  const received: { event: Stripe.Event; signature: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['stripe-signature']);
      // Throws on a bad signature or a stale timestamp: the test fails with the connection reset.
      received.push({ event: stripe.webhooks.constructEvent(body, signature, SECRET), signature });
      const status = statuses.shift() ?? 202;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/stripe`, received };
}

async function startProvider(t: TestContext, webhook: PaymentsOptions['webhook']) {
  const payments = await start({ port: 0, webhook });
  t.after(() => payments.close());
  const charge = async (body: unknown) =>
    (await (
      await fetch(`${payments.url}/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k1' },
        body: JSON.stringify(body),
      })
    ).json()) as Payment;
  const stats = async () =>
    ((await (await fetch(`${payments.url}/_stats`)).json()) as { webhooks: Record<string, number> }).webhooks;
  return { url: payments.url, charge, stats };
}

async function until(check: () => Promise<boolean> | boolean, what: string) {
  for (const started = Date.now(); !(await check()); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - started > 10_000) assert.fail(`timed out waiting for ${what}`);
  }
}

test('a charge sends a Stripe-signed payment_intent.succeeded, the same event on every retry until a 2xx', async (t) => {
  const receiver = await startReceiver(t, [503, 500]);
  const provider = await startProvider(t, { url: receiver.url, secret: SECRET, attempts: 4, backoffMs: 20 });
  const payment = await provider.charge({ amount: 1250, currency: 'EUR', orderId: 'ord_1001' });
  await until(async () => (await provider.stats()).delivered === 1, 'the third attempt');
  assert.equal(receiver.received.length, 3);
  const [first] = receiver.received;
  assert.match(first!.event.id, /^evt_[0-9a-f]{16}$/);
  assert.equal(first!.event.type, 'payment_intent.succeeded');
  assert.deepEqual(first!.event.data.object, payment, 'the payment, as GET /payments/:id reads it');
  assert.deepEqual(
    receiver.received.map((r) => r.event.id),
    [first!.event.id, first!.event.id, first!.event.id],
    'one event id for every attempt',
  );
  assert.match(first!.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.deepEqual(await provider.stats(), { sent: 1, attempts: 3, delivered: 1, duplicates: 0, failed: 0 });
});

test('duplicateWebhooks sends every event twice; POST /payments/:id/webhook resends it and shows the answer', async (t) => {
  const receiver = await startReceiver(t, []);
  const provider = await startProvider(t, { url: receiver.url, secret: SECRET, attempts: 1, backoffMs: 20 });
  const control = await fetch(`${provider.url}/_control`, {
    method: 'POST',
    body: JSON.stringify({ duplicateWebhooks: true }),
  });
  assert.deepEqual(await control.json(), { duplicateWebhooks: true });
  const payment = await provider.charge({ amount: 990, currency: 'EUR' });
  await until(() => receiver.received.length === 2, 'two deliveries');
  assert.equal(receiver.received[0]!.event.id, receiver.received[1]!.event.id);

  const resend = await fetch(`${provider.url}/payments/${payment.id}/webhook`, { method: 'POST' });
  assert.deepEqual(await resend.json(), { attempts: 1, status: 202, answer: { status: 202 } });
  assert.equal(receiver.received[2]!.event.id, receiver.received[0]!.event.id);
  assert.equal((await fetch(`${provider.url}/payments/pay_none/webhook`, { method: 'POST' })).status, 404);
  const bad = await fetch(`${provider.url}/_control`, { method: 'POST', body: '{"duplicateWebhooks":1}' });
  assert.equal(bad.status, 400);
});

test('without a webhook configured, a charge sends nothing', async (t) => {
  const provider = await startProvider(t, undefined);
  const payment = await provider.charge({ amount: 100, currency: 'USD' });
  assert.equal((await provider.stats()).sent, 0);
  const resend = await fetch(`${provider.url}/payments/${payment.id}/webhook`, { method: 'POST' });
  assert.equal(resend.status, 409);
});
