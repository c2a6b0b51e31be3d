import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { noAudit } from '../../../core/audit.ts';
import { isJunctionError } from '../../../core/errors.ts';
import { Snowflake } from '../../../core/ids.ts';
import { createLogger } from '../../../core/logger.ts';
import { createMetrics } from '../../../core/metrics.ts';
import type { RequestContext } from '../../../core/policy.ts';
import { problemResponse } from '../../../core/problem.ts';
import type { Services } from '../../../core/services.ts';
import { FAULT_HEADER, fault, faultPolicy } from './index.ts';

function setup() {
  const sink = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  sink.on('data', (c: Buffer) => {
    for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
  });
  const services: Services = {
    logger: createLogger({ level: 'info', destination: sink }),
    accessLogger: createLogger({ level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }),
    ids: new Snowflake({ nodeId: 1 }),
    spans: undefined,
    audit: noAudit,
    redisUrl: undefined,
  };
  return { services, lines, env: { routeName: 'orders', services } };
}

/** Enough of a context for onRequest: headers, response headers and a socket that can close. */
function request(headers: Record<string, string> = {}) {
  const socket = Object.assign(new EventEmitter(), { destroyed: false });
  const ctx = {
    id: 'req_fault0000001',
    headers,
    responseHeaders: {} as Record<string, string>,
    req: { socket },
  } as unknown as RequestContext;
  const close = () => {
    socket.destroyed = true;
    socket.emit('close');
  };
  return { ctx, socket: socket as unknown as Socket & EventEmitter, close };
}

const flushLogs = () => new Promise((r) => setImmediate(r));

async function counted(services: Services): Promise<string> {
  return (await services.metrics.registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith('junction_faults_injected_total{'))
    .join('\n');
}

test('an abort throws fault_injected with the configured status and names itself in a header', async () => {
  const { env, lines, services } = setup();
  const policy = faultPolicy({ abort: { status: 502, percent: 100, detail: 'partner down (drill)' } }, env);
  const { ctx } = request();
  assert.throws(
    () => policy.onRequest!(ctx),
    (err: unknown) => {
      assert.ok(isJunctionError(err));
      assert.equal(err.code, 'fault_injected');
      assert.equal(err.status, 502);
      const problem = JSON.parse(problemResponse(err, undefined, ctx.id).body);
      assert.equal(problem.status, 502);
      assert.equal(problem.code, 'fault_injected');
      assert.equal(problem.detail, 'partner down (drill)');
      return true;
    },
  );
  assert.equal(ctx.responseHeaders[FAULT_HEADER], 'abort=502');
  await flushLogs();
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.requestId, l.route, l.fault]),
    [['info', 'fault injected', ctx.id, 'orders', 'abort=502']],
  );
  assert.equal(await counted(services), 'junction_faults_injected_total{route="orders",kind="abort"} 1');
});

test('a request that draws no fault passes synchronously and leaves no trace', async () => {
  const { env, lines, services } = setup();
  const policy = faultPolicy({ delay: { ms: 10, jitterMs: 0, percent: 0 } }, env);
  const { ctx } = request();
  assert.equal(policy.onRequest!(ctx), undefined);
  assert.deepEqual(ctx.responseHeaders, {});
  await flushLogs();
  assert.equal(lines.length, 0);
  assert.equal(await counted(services), '');
});

test('a delay holds the request for the picked time, then lets it continue', async (t: TestContext) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { env, services } = setup();
  const policy = faultPolicy({ delay: { ms: 200, jitterMs: 50, percent: 100 } }, env, {
    random: () => 0.75, // roll passes; jitter = (0.75 * 2 - 1) * 50 = +25
  });
  const { ctx, socket } = request();
  let settled = false;
  const pending = Promise.resolve(policy.onRequest!(ctx)).then((r) => {
    settled = true;
    return r;
  });
  assert.equal(ctx.responseHeaders[FAULT_HEADER], 'delay=225');
  t.mock.timers.tick(224);
  await flushLogs();
  assert.equal(settled, false);
  t.mock.timers.tick(1);
  assert.equal(await pending, undefined);
  assert.equal(socket.listenerCount('close'), 0, 'no listener left on a kept-alive socket');
  assert.equal(await counted(services), 'junction_faults_injected_total{route="orders",kind="delay"} 1');
});

test('a delay followed by an abort answers with the abort once the delay is over', async (t: TestContext) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { env } = setup();
  const policy = faultPolicy(
    { delay: { ms: 100, jitterMs: 0, percent: 100 }, abort: { status: 503, percent: 100 } },
    env,
  );
  const { ctx } = request();
  const pending = policy.onRequest!(ctx);
  assert.equal(ctx.responseHeaders[FAULT_HEADER], 'delay=100, abort=503');
  t.mock.timers.tick(100);
  await assert.rejects(Promise.resolve(pending), { code: 'fault_injected', status: 503 });
});

test('a client that leaves during a delay releases it at once, before the timer would fire', async (t: TestContext) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { env } = setup();
  const policy = faultPolicy({ delay: { ms: 60_000, jitterMs: 0, percent: 100 } }, env);
  const { ctx, socket, close } = request();
  const pending = Promise.resolve(policy.onRequest!(ctx));
  close();
  // Rejected, so the chain stops and the upstream is never called for a client that is gone.
  await assert.rejects(pending, { code: 'fault_injected' });
  assert.equal(socket.listenerCount('close'), 0);
});

test('a request whose connection already closed is not delayed at all', async () => {
  const { env } = setup();
  const policy = faultPolicy({ delay: { ms: 60_000, jitterMs: 0, percent: 100 } }, env);
  const { ctx, close } = request();
  close();
  await assert.rejects(Promise.resolve(policy.onRequest!(ctx)), { code: 'fault_injected' });
});

test('only requests with the trigger header get a fault, and its value picks which', async () => {
  const { env } = setup();
  const policy = fault.create(
    {
      delay: { ms: 10, jitterMs: 0, percent: 100 },
      abort: { status: 503, percent: 100 },
      when: { header: 'x-junction-fault' },
    },
    env,
  );
  assert.equal(policy.onRequest!(request().ctx), undefined);
  assert.throws(() => policy.onRequest!(request({ 'x-junction-fault': 'abort' }).ctx), {
    code: 'fault_injected',
  });
});

test('the counter is registered once per registry, however many routes use the policy', async () => {
  const { env, services } = setup();
  const config = { abort: { status: 503, percent: 100 } };
  const a = faultPolicy(config, env);
  const b = faultPolicy(config, { ...env, routeName: 'users' });
  assert.throws(() => a.onRequest!(request().ctx));
  assert.throws(() => b.onRequest!(request().ctx));
  assert.throws(() => b.onRequest!(request().ctx));
  assert.equal(
    await counted(services),
    [
      'junction_faults_injected_total{route="orders",kind="abort"} 1',
      'junction_faults_injected_total{route="users",kind="abort"} 2',
    ].join('\n'),
  );
});

test('the schema fills defaults and refuses out-of-range or unknown settings', () => {
  const check = Compile(fault.schema);
  const filled = Value.Default(fault.schema, { delay: { ms: 5 }, abort: {}, when: {} });
  assert.deepEqual(filled, {
    delay: { ms: 5, jitterMs: 0, percent: 100 },
    abort: { status: 503, percent: 100 },
    when: { header: 'x-junction-fault' },
  });
  assert.ok(check.Check(filled));
  for (const bad of [
    { abort: { status: 200, percent: 100 } },
    { abort: { status: 503, percent: 100.5 } },
    { delay: { ms: -1, jitterMs: 0, percent: 100 } },
    { delay: { ms: 1.5, jitterMs: 0, percent: 100 } },
    { delay: { ms: 1, jitterMs: 0, percent: 100, seconds: 1 } },
    { when: { header: 'bad header' } },
    { chaos: true },
  ]) {
    assert.equal(check.Check(bad), false, JSON.stringify(bad));
  }
});
