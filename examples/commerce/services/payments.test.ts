import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { type Payment, start } from './payments.ts';

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
      status: 'succeeded',
      idempotencyKey: 'k1',
    },
  );
  const again = await charge({ amount: 1250, currency: 'EUR' }, { 'idempotency-key': 'k1' });
  assert.equal(again.status, 201, 'the service itself does not deduplicate: the gateway does');
  assert.deepEqual(await stats(), { charges: 2, inFlight: 0, payments: 2 });
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
  const pending = charge({ amount: 100, currency: 'USD', processingMs: 200 });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await stats()).inFlight, 1);
  assert.equal((await pending).status, 201);
  assert.ok(performance.now() - started >= 200);
  assert.deepEqual(await stats(), { charges: 1, inFlight: 0, payments: 1 });
});
