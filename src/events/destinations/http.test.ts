import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Value } from 'typebox/value';
import { generateSecret, generateSigningKey, publicKeyOf } from '../signing.ts';
import { standardWebhooksVerifier } from '../verify/standard-webhooks.ts';
import { createHttpDestination, type HttpDestinationOptions } from './http.ts';
import { type HttpDestinationConfig, HttpDestinationSchema } from './schema.ts';
import type { OutgoingEvent } from './types.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Handler = (req: Received, res: ServerResponse) => void;

/** A receiver on 127.0.0.1:0 that records every request and answers with `handler`. */
async function receiver(t: TestContext, handler: Handler) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const r = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
    received.push(r);
    handler(r, res);
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())).then(() => undefined));
  t.after(() => server.closeAllConnections());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, server };
}

function destination(
  t: TestContext,
  url: string,
  config: Partial<HttpDestinationConfig> = {},
  options?: HttpDestinationOptions,
) {
  const full = Value.Default(HttpDestinationSchema, {
    type: 'http',
    url,
    allowPrivateNetworks: true,
    ...config,
  }) as HttpDestinationConfig;
  const d = createHttpDestination(full, options);
  t.after(() => d.close());
  return d;
}

const answer =
  (status: number, headers: Record<string, string> = {}, body = ''): Handler =>
  (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };

let seq = 0;
function event(overrides: Partial<OutgoingEvent> = {}): OutgoingEvent {
  seq++;
  return {
    id: `evt_TEST${String(seq).padStart(9, '0')}`,
    source: 'shop',
    type: 'order.created',
    receivedAt: Date.UTC(2026, 2, 1, 12, 0, 0),
    payload: JSON.stringify({ order: seq, total: 4200 }),
    contentType: 'application/json',
    ...overrides,
  };
}

test('a single event is POSTed as its raw payload, signed so that standardwebhooks verifies it', async (t) => {
  const hook = await receiver(t, answer(204));
  const secret = generateSecret();
  const d = destination(t, `${hook.url}/hooks/in?tenant=7`, {
    secrets: [secret],
    headers: { authorization: 'Bearer x' },
  });
  const e = event();
  const outcome = await d.deliver([e]);
  assert.equal(outcome.kind, 'delivered');
  assert.equal(outcome.status, 204);
  const [req] = hook.received;
  assert.equal(req!.method, 'POST');
  assert.equal(req!.url, '/hooks/in?tenant=7');
  assert.equal(req!.body.toString(), e.payload);
  assert.equal(req!.headers['content-type'], 'application/json');
  assert.equal(req!.headers['webhook-id'], e.id);
  assert.equal(req!.headers['x-junction-event-type'], 'order.created');
  assert.equal(req!.headers['x-junction-source'], 'shop');
  assert.equal(req!.headers.authorization, 'Bearer x');
  assert.equal(req!.headers['x-junction-batch-size'], undefined);
  const signed = new Webhook(secret).verify(req!.body, req!.headers as Record<string, string>);
  assert.deepEqual(signed, JSON.parse(e.payload as string));
});

test('every status class is classified: 2xx delivered, 410 gone, other 4xx rejected, 408/425/429/5xx retried', async (t) => {
  let status = 200;
  const hook = await receiver(t, (_req, res) => answer(status)(_req, res));
  const d = destination(t, hook.url);
  const expected: Array<[number, string, string?]> = [
    [200, 'delivered'],
    [202, 'delivered'],
    [400, 'reject', 'destination_status'],
    [401, 'reject', 'destination_status'],
    [404, 'reject', 'destination_status'],
    [410, 'reject', 'destination_gone'],
    [413, 'reject', 'destination_status'],
    [422, 'reject', 'destination_status'],
    [408, 'retry', 'destination_status'],
    [425, 'retry', 'destination_status'],
    [429, 'retry', 'destination_status'],
    [500, 'retry', 'destination_status'],
    [502, 'retry', 'destination_status'],
    [503, 'retry', 'destination_status'],
    [504, 'retry', 'destination_status'],
  ];
  for (const [s, kind, code] of expected) {
    status = s;
    const outcome = await d.deliver([event()]);
    assert.equal(outcome.kind, kind, `HTTP ${s}`);
    assert.equal(outcome.status, s);
    if (outcome.kind !== 'delivered') assert.equal(outcome.code, code, `HTTP ${s}`);
  }
});

test('retryStatuses turns a 4xx the endpoint uses for "not now" into a retry', async (t) => {
  const hook = await receiver(t, answer(409));
  const d = destination(t, hook.url, { retryStatuses: [409, 429] });
  assert.equal((await d.deliver([event()])).kind, 'retry');
});

test('a 301 is not followed: it is retried, and the target it names gets nothing', async (t) => {
  const target = await receiver(t, answer(200));
  const hook = await receiver(t, answer(301, { location: `${target.url}/elsewhere` }));
  const d = destination(t, hook.url);
  const outcome = await d.deliver([event()]);
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.status, 301);
  assert.match(outcome.kind === 'retry' ? outcome.error : '', /redirect to .*\/elsewhere not followed/);
  assert.equal(hook.received.length, 1);
  assert.equal(target.received.length, 0);
});

test('Retry-After in seconds or as an HTTP date is honoured, and a very long one is capped', async (t) => {
  let retryAfter = '7';
  const hook = await receiver(t, (req, res) => answer(429, { 'retry-after': retryAfter })(req, res));
  const now = Date.UTC(2026, 2, 1, 12, 0, 0);
  const d = destination(t, hook.url, { maxRetryAfterMs: 600_000 }, { now: () => now });
  const after = async () => {
    const outcome = await d.deliver([event()]);
    assert.equal(outcome.kind, 'retry');
    return outcome.kind === 'retry' ? outcome.retryAfterMs : undefined;
  };
  assert.equal(await after(), 7_000);
  retryAfter = 'Sun, 01 Mar 2026 12:01:30 GMT';
  assert.equal(await after(), 90_000);
  retryAfter = '86400';
  assert.equal(await after(), 600_000);
  retryAfter = 'soon';
  assert.equal(await after(), undefined);
});

test('an endpoint that does not answer within timeoutMs is a retry', async (t) => {
  const hook = await receiver(t, () => {}); // never answers
  const d = destination(t, hook.url, { timeoutMs: 150 });
  const outcome = await d.deliver([event()]);
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_timeout');
  assert.ok(outcome.ms >= 140 && outcome.ms < 2_000, `took ${outcome.ms} ms`);
});

test('a refused connection is a retry', async (t) => {
  const hook = await receiver(t, answer(200));
  const url = hook.url;
  await new Promise<void>((resolve) => hook.server.close(() => resolve()));
  const outcome = await destination(t, url).deliver([event()]);
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_unreachable');
  assert.match(outcome.kind === 'retry' ? outcome.error : '', /ECONNREFUSED/);
});

test('an aborted signal ends the attempt as a retry', async (t) => {
  const hook = await receiver(t, () => {});
  const d = destination(t, hook.url);
  const controller = new AbortController();
  const pending = d.deliver([event()], controller.signal);
  setTimeout(() => controller.abort(), 50);
  const outcome = await pending;
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_aborted');
});

test('the error text holds at most 4 KiB of the answer body', async (t) => {
  const hook = await receiver(
    t,
    answer(400, { 'content-type': 'text/plain' }, `bad order: ${'x'.repeat(20_000)}`),
  );
  const outcome = await destination(t, hook.url).deliver([event()]);
  assert.equal(outcome.kind, 'reject');
  const error = outcome.kind === 'reject' ? outcome.error : '';
  assert.match(error, /^HTTP 400: bad order: x+…$/);
  assert.ok(error.length <= 4096 + 20, `error is ${error.length} characters`);
});

test('a whsk_ key adds a v1a Ed25519 signature that verifies with its whpk_ public key alone', async (t) => {
  const hook = await receiver(t, answer(204));
  const secret = generateSecret();
  const signingKey = generateSigningKey();
  const d = destination(t, hook.url, { secrets: [secret, signingKey] });
  const e = event();
  assert.equal((await d.deliver([e])).kind, 'delivered');
  const headers = hook.received[0]!.headers as Record<string, string>;
  const [v1, v1a, ...rest] = headers['webhook-signature']!.split(' ');
  assert.deepEqual(rest, []);
  assert.match(v1!, /^v1,/);
  assert.match(v1a!, /^v1a,/);
  // Independently of our code: node:crypto with the raw public key as a JWK (RFC 8037).
  const publicKey = publicKeyOf(signingKey);
  assert.match(publicKey, /^whpk_[A-Za-z0-9+/]{43}=$/);
  const x = Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  const content = Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${e.payload}`);
  assert.ok(verify(null, content, key, Buffer.from(v1a!.slice(4), 'base64')), 'v1a verifies');
  const tampered = Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.{}`);
  assert.ok(!verify(null, tampered, key, Buffer.from(v1a!.slice(4), 'base64')), 'and only for its content');
  // Our own inbound verifier, holding the public key only, accepts it too.
  const verifier = standardWebhooksVerifier({
    provider: 'standard-webhooks',
    secrets: [publicKey],
    toleranceS: 300,
  } as Parameters<typeof standardWebhooksVerifier>[0]);
  assert.equal(verifier.verify({ headers, body: hook.received[0]!.body }).id, headers['webhook-id']);
  assert.throws(() => destination(t, hook.url, { secrets: ['whsk_c2hvcnQ='] }), /32 bytes/);
});

test("captureResponseBytes keeps the answer's header fields and at most that much of its body", async (t) => {
  const hook = await receiver(t, (_req, res) => {
    res.setHeader('x-request-id', 'r-1');
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`boom ${'y'.repeat(30_000)}`);
  });
  const outcome = await destination(t, hook.url, {}, { captureResponseBytes: 20_480 }).deliver([event()]);
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.response?.headers['x-request-id'], 'r-1');
  assert.equal(outcome.response?.headers['set-cookie'], 'a=1, b=2');
  assert.match(outcome.response?.body ?? '', /^boom y+…$/);
  assert.equal(outcome.response?.body.length, 20_480 + 1);
  const error = outcome.kind === 'retry' ? outcome.error : '';
  assert.ok(error.length <= 4096 + 20, 'the error text stays short');

  const ok = await receiver(t, answer(200, { 'content-type': 'application/json' }, '{"ok":true}'));
  const delivered = await destination(t, ok.url, {}, { captureResponseBytes: 20_480 }).deliver([event()]);
  assert.deepEqual([delivered.kind, delivered.response?.body], ['delivered', '{"ok":true}']);
  const plain = await destination(t, ok.url).deliver([event()]);
  assert.equal(plain.response, undefined, 'nothing kept unless asked');
});

test('without allowPrivateNetworks, loopback endpoints are refused before any byte is sent', async (t) => {
  const hook = await receiver(t, answer(200));
  const port = new URL(hook.url).port;
  for (const url of [hook.url, `http://localhost:${port}`, `http://[::1]:${port}`]) {
    const outcome = await destination(t, url, { allowPrivateNetworks: false }).deliver([event()]);
    assert.equal(outcome.kind, 'reject', url);
    assert.equal(outcome.kind === 'reject' && outcome.code, 'destination_address_forbidden', url);
  }
  assert.equal(hook.received.length, 0);
});

test('a batch is one signed JSON array of envelopes; webhook-id is the same for the same events', async (t) => {
  const hook = await receiver(t, answer(200));
  const secret = generateSecret();
  const d = destination(t, hook.url, { secrets: [secret], batch: { maxEvents: 10, maxWaitMs: 100 } });
  const events = [
    event({ payload: '{"big":12345678901234567890}' }),
    event({ type: 'note', payload: 'plain text', contentType: 'text/plain; charset=utf-8' }),
    event({ payload: Uint8Array.from([0, 255, 1]), contentType: 'application/octet-stream' }),
  ];
  assert.equal((await d.deliver(events)).kind, 'delivered');
  assert.equal((await d.deliver(events)).kind, 'delivered');
  const [first, second] = hook.received;
  assert.equal(first!.headers['content-type'], 'application/json');
  assert.equal(first!.headers['x-junction-batch-size'], '3');
  assert.equal(first!.headers['x-junction-event-type'], undefined, 'types differ');
  assert.equal(first!.headers['x-junction-source'], 'shop');
  assert.match(String(first!.headers['webhook-id']), /^batch_[0-9a-f]{32}$/);
  assert.equal(second!.headers['webhook-id'], first!.headers['webhook-id']);
  new Webhook(secret).verify(first!.body, first!.headers as Record<string, string>);
  // The JSON payload is spliced in as sent: the large integer keeps every digit.
  assert.match(first!.body.toString(), /"data":\{"big":12345678901234567890\}/);
  const batch = JSON.parse(first!.body.toString());
  assert.deepEqual(
    batch.map((b: Record<string, unknown>) => [
      b.id,
      b.type,
      b.timestamp,
      b.data ?? `base64:${b.dataBase64}`,
    ]),
    [
      [events[0]!.id, 'order.created', '2026-03-01T12:00:00.000Z', { big: 12345678901234567000 }],
      [events[1]!.id, 'note', '2026-03-01T12:00:00.000Z', 'plain text'],
      [events[2]!.id, 'order.created', '2026-03-01T12:00:00.000Z', 'base64:AP8B'],
    ],
  );
});

test('a batching destination sends even a single event as an array', async (t) => {
  const hook = await receiver(t, answer(200));
  const d = destination(t, hook.url, { batch: { maxEvents: 10, maxWaitMs: 100 } });
  await d.deliver([event()]);
  assert.equal(JSON.parse(hook.received[0]!.body.toString()).length, 1);
});

test('an event whose JSON does not parse is rejected alone; the rest of its batch is delivered', async (t) => {
  const hook = await receiver(t, answer(200));
  const d = destination(t, hook.url);
  const [good, bad, good2] = [event(), event({ payload: '{"oops":' }), event()];
  const outcome = await d.deliver([good!, bad!, good2!]);
  assert.equal(outcome.kind, 'reject');
  assert.equal(outcome.kind === 'reject' && outcome.code, 'destination_event_invalid');
  assert.deepEqual(outcome.kind === 'reject' && outcome.failedIds, [bad!.id]);
  const sent = JSON.parse(hook.received[0]!.body.toString());
  assert.deepEqual(
    sent.map((s: { id: string }) => s.id),
    [good!.id, good2!.id],
  );
});

test('an event id with a period cannot be signed and is rejected without a request', async (t) => {
  const hook = await receiver(t, answer(200));
  const d = destination(t, hook.url, { secrets: [generateSecret()] });
  const outcome = await d.deliver([event({ id: 'evt.1' })]);
  assert.equal(outcome.kind === 'reject' && outcome.code, 'destination_event_invalid');
  assert.equal(hook.received.length, 0);
});

test('close() is idempotent, and a delivery after it is a retry that sends nothing', async (t) => {
  const hook = await receiver(t, answer(200));
  const d = destination(t, hook.url);
  await d.deliver([event()]);
  await Promise.all([d.close(), d.close()]);
  const outcome = await d.deliver([event()]);
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_aborted');
  assert.equal(hook.received.length, 1);
});
