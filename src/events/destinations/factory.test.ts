import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJunctionError } from '../../core/errors.ts';
import { generateSecret } from '../signing.ts';
import { createDestination, parseDestinationConfig } from './factory.ts';
import { compileTemplate } from './template.ts';

test('each kind of destination block gets its defaults', () => {
  assert.deepEqual(parseDestinationConfig({ type: 'http', url: 'https://hooks.example.com/in' }), {
    type: 'http',
    url: 'https://hooks.example.com/in',
    secrets: [],
    timeoutMs: 15_000,
    retryStatuses: [408, 425, 429],
    maxRetryAfterMs: 3_600_000,
    headers: {},
    connections: 10,
    allowPrivateNetworks: false,
  });
  assert.deepEqual(parseDestinationConfig({ type: 'nats' }), {
    type: 'nats',
    servers: ['nats://127.0.0.1:4222'],
    subject: 'events.{type}',
    timeoutMs: 5_000,
  });
  assert.deepEqual(
    parseDestinationConfig({ type: 'rabbitmq', url: 'amqp://localhost', exchange: 'events', batch: {} }),
    {
      type: 'rabbitmq',
      url: 'amqp://localhost',
      exchange: 'events',
      routingKey: '{type}',
      mandatory: true,
      timeoutMs: 5_000,
      batch: { maxEvents: 100, maxWaitMs: 1_000 },
    },
  );
});

test('mistakes in a destination block are refused with config_invalid and the path', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ type: 'smtp', url: 'x' }, /destination\/type: must be one of http, nats, rabbitmq/],
    [{ type: 'http', url: 'ftp://example.com' }, /\/url/],
    [{ type: 'http', url: 'https://user:pw@example.com/' }, /\/url/],
    [{ type: 'http', url: 'https://example.com', retries: 3 }, /destination\/retries: unknown key/],
    [{ type: 'http', url: 'https://example.com', secrets: ['plain-secret'] }, /\/secrets\/0/],
    [{ type: 'http', url: 'https://example.com', headers: { 'webhook-id': 'x' } }, /headers/],
    [{ type: 'http', url: 'https://example.com', headers: { 'Webhook-Signature': 'x' } }, /set by Junction/],
    [{ type: 'http', url: 'https://example.com', retryStatuses: [503] }, /retryStatuses/],
    [{ type: 'http', url: 'https://example.com', batch: { maxEvents: 0 } }, /maxEvents/],
    [{ type: 'nats', subject: 'events.{id}' }, /\/subject/],
    [{ type: 'rabbitmq', url: 'amqp://localhost' }, /exchange/],
    // Schema-valid, refused by the signer: 16 bytes is too short a key.
    [
      { type: 'http', url: 'https://example.com', secrets: [`whsec_${Buffer.alloc(16).toString('base64')}`] },
      /24 to 64/,
    ],
  ];
  for (const [raw, message] of cases) {
    assert.throws(
      () => createDestination(raw),
      (err) => isJunctionError(err) && err.code === 'config_invalid' && message.test(err.message),
      JSON.stringify(raw),
    );
  }
});

test('createDestination builds the kind the block names', async () => {
  const built = [
    createDestination({ type: 'http', url: 'https://hooks.example.com/in', secrets: [generateSecret()] }),
    createDestination({ type: 'nats' }),
    createDestination({ type: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1', exchange: 'events' }),
  ];
  assert.deepEqual(
    built.map((d) => d.kind),
    ['http', 'nats', 'rabbitmq'],
  );
  // Nothing connects before the first delivery, so closing right away is immediate.
  await Promise.all(built.map((d) => d.close()));
});

test('templates replace {type} and {source} and refuse other placeholders', () => {
  const render = compileTemplate('{source}.events.{type}.{type}');
  assert.equal(render({ source: 'shop', type: 'order.created' }), 'shop.events.order.created.order.created');
  assert.equal(compileTemplate('fixed')({ source: 's', type: 't' }), 'fixed');
  for (const bad of ['events.{id}', 'events.{type', '{}', ''])
    assert.throws(() => compileTemplate(bad), TypeError, bad);
});
