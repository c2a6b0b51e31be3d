import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { noAudit } from '../../../core/audit.ts';
import { Snowflake } from '../../../core/ids.ts';
import { createLogger } from '../../../core/logger.ts';
import { createMetrics } from '../../../core/metrics.ts';
import type { AccessEntry, RequestContext } from '../../../core/policy.ts';
import type { Services } from '../../../core/services.ts';
import { accessLog } from './index.ts';

function setup(level = 'info') {
  const sink = new PassThrough();
  const lines: string[] = [];
  sink.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  const services: Services = {
    logger: createLogger({ level: 'silent' }),
    accessLogger: createLogger({ level, destination: sink, redact: false }),
    metrics: createMetrics({ defaultMetrics: false }),
    ids: new Snowflake({ nodeId: 7 }),
    spans: undefined,
    audit: noAudit,
    redisUrl: undefined,
  };
  return { services, lines };
}

const entry: AccessEntry = {
  status: 200,
  durationMs: 1.23456,
  bytesIn: 3,
  bytesOut: 4,
  upstream: 'app',
  target: 'http://127.0.0.1:9',
  errorCode: undefined,
  aborted: false,
};

function ctx(path: string, clientIp: string): RequestContext {
  return {
    id: 'req_0000000000000',
    method: 'GET',
    path,
    query: '?q=1',
    clientIp,
    trace: undefined,
  } as RequestContext;
}

test('a line is valid JSON with every field, even when the client put quotes, newlines and unicode in the path', async () => {
  const { services, lines } = setup();
  const policy = accessLog.create({ level: 'info', query: false }, { routeName: 'r"1', services });
  const path = '/a"b\\c\n{"injected":true}\u2028é';
  policy.onLog!(ctx(path, '10.0.0.1", "admin": "yes'), entry);
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line.path, path);
  assert.equal(line.clientIp, '10.0.0.1", "admin": "yes');
  assert.equal(line.admin, undefined);
  assert.equal(line.route, 'r"1');
  assert.equal(line.node, 7);
  assert.equal(line.msg, 'request');
  assert.equal(line.level, 'info');
  assert.equal(line.durationMs, 1.235);
  assert.equal(line.upstream, 'app');
  assert.ok(!Number.isNaN(Date.parse(line.time as string)));
});

test('the query string is logged only when asked for, and a debug line respects the level', async () => {
  const { services, lines } = setup('info');
  accessLog.create({ level: 'info', query: true }, { routeName: 'r', services }).onLog!(
    ctx('/p', '1.2.3.4'),
    entry,
  );
  accessLog.create({ level: 'debug', query: false }, { routeName: 'r', services }).onLog!(
    ctx('/p', '1.2.3.4'),
    entry,
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 1);
  assert.equal((JSON.parse(lines[0]!) as { path: string }).path, '/p?q=1');
});
