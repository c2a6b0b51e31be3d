import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { type SubscriptionConfig, SubscriptionSchema } from '../config/events-schema.ts';
import {
  compileSubscriptions,
  matchSubscriptions,
  parsePayload,
  truthy,
  typePattern,
} from './subscriptions.ts';

const sub = (extra: Record<string, unknown>) =>
  Value.Default(SubscriptionSchema, {
    destination: { type: 'http', url: 'http://127.0.0.1:9/x' },
    ...extra,
  }) as SubscriptionConfig;

function compile(configs: Record<string, SubscriptionConfig>, sources = ['stripe', 'github']) {
  const issues: { path: string; message: string }[] = [];
  const subs = compileSubscriptions(configs, new Set(sources), (path, message) =>
    issues.push({ path, message }),
  );
  return { subs, issues };
}

const match = (
  subs: ReturnType<typeof compile>['subs'],
  source: string,
  type: string,
  payload: unknown = {},
) => {
  const errors: string[] = [];
  return matchSubscriptions(subs, { source, type, payload: () => payload }, (name) => errors.push(name)).then(
    (names) => ({ names, errors }),
  );
};

test('type patterns: * is any run of characters, everything else matches itself', () => {
  const p = typePattern(['invoice.*', 'charge.succeeded', 'a+b(c)']);
  for (const yes of ['invoice.paid', 'invoice.payment.failed', 'invoice.', 'charge.succeeded', 'a+b(c)'])
    assert.ok(p.test(yes), yes);
  for (const no of ['invoiceXpaid', 'charge.succeeded.x', 'xcharge.succeeded', 'aab(c)', 'invoice'])
    assert.ok(!p.test(no), no);
  assert.ok(typePattern(['*.created']).test('customer.created'));
  assert.ok(typePattern(['a*c']).test('a\nc'), 'a type with a newline is still matched by *');
});

test('a subscription takes an event when source, type and filter all agree; disabled ones too', async () => {
  const { subs, issues } = compile({
    all: sub({}),
    stripeOnly: sub({ sources: ['stripe'] }),
    invoices: sub({ types: ['invoice.*'] }),
    big: sub({ filter: 'payload.amount > 1000 and source = "stripe"' }),
    parked: sub({ enabled: false }),
  });
  assert.deepEqual(issues, []);
  assert.deepEqual((await match(subs, 'stripe', 'invoice.paid', { amount: 5000 })).names, [
    'all',
    'stripeOnly',
    'invoices',
    'big',
    'parked',
  ]);
  assert.deepEqual((await match(subs, 'github', 'push', { amount: 5000 })).names, ['all', 'parked']);
  assert.deepEqual((await match(subs, 'stripe', 'charge.failed', { amount: 5 })).names, [
    'all',
    'stripeOnly',
    'parked',
  ]);
});

test('a filter that throws on an event is no match, reported by name; the others still run', async () => {
  const { subs } = compile({
    broken: sub({ filter: '$number(payload.note) > 1' }),
    fine: sub({ filter: 'type = "t"' }),
  });
  const { names, errors } = await match(subs, 'stripe', 't', { note: 'abc' });
  assert.deepEqual(names, ['fine']);
  assert.deepEqual(errors, ['broken']);
});

test('the payload is parsed once for all filters, and only when a filter runs', async () => {
  const { subs } = compile({ a: sub({ filter: 'payload.x = 1' }), b: sub({ filter: 'payload.x = 1' }) });
  let parses = 0;
  const names = await matchSubscriptions(
    subs,
    {
      source: 'stripe',
      type: 't',
      payload: () => {
        parses++;
        return { x: 1 };
      },
    },
    () => {},
  );
  assert.deepEqual(names, ['a', 'b']);
  assert.equal(parses, 1);
  const plain = compile({ c: sub({}) }).subs;
  await matchSubscriptions(plain, { source: 's', type: 't', payload: () => assert.fail('parsed') }, () => {});
});

test('config mistakes: an unknown source and a filter that does not parse, at their JSON paths', () => {
  const { subs, issues } = compile({ s: sub({ sources: ['stripe', 'ghost'], filter: 'payload.(' }) });
  assert.deepEqual(subs, []);
  assert.deepEqual(
    issues.map((i) => i.path),
    ['/events/subscriptions/s/sources/1', '/events/subscriptions/s/filter'],
  );
  assert.match(issues[0]!.message, /no source named ghost/);
  assert.match(issues[1]!.message, /^not a JSONata expression: .+ \(at character \d+\)$/);
});

test("filter results read as JSONata's $boolean", () => {
  for (const v of [true, 1, -1, 'x', [0, 1], { a: 1 }]) assert.equal(truthy(v), true, JSON.stringify(v));
  for (const v of [false, 0, '', [], [0, false], {}, null, undefined])
    assert.equal(truthy(v), false, String(v));
});

test('payloads: JSON is parsed, anything else is the text', () => {
  assert.deepEqual(parsePayload(Buffer.from('{"a":[1]}')), { a: [1] });
  assert.equal(parsePayload('token=x&command=%2Fdeploy'), 'token=x&command=%2Fdeploy');
  assert.equal(parsePayload(new Uint8Array([0x68, 0x69])), 'hi');
});
