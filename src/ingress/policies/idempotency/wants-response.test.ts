/**
 * Requests that take no lease (no key, a safe method) must not cost the route its direct response
 * path: `wantsResponse` says false for them, so the exchange writes the upstream's answer straight
 * through and `runOnResponse` skips the policy (bench: `npm run bench -- idempotency`, case a).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { noAudit } from '../../../core/audit.ts';
import { Snowflake } from '../../../core/ids.ts';
import { createLogger } from '../../../core/logger.ts';
import { createMetrics } from '../../../core/metrics.ts';
import type { RequestContext } from '../../../core/policy.ts';
import { runOnResponse, wantsResponse } from '../../send.ts';
import { idempotencyPolicy } from './index.ts';
import { idempotencySchema } from './schema.ts';

const services = {
  logger: createLogger({ level: 'silent' }),
  accessLogger: createLogger({ level: 'silent' }),
  metrics: createMetrics({ defaultMetrics: false }),
  ids: new Snowflake({ nodeId: 1 }),
  audit: noAudit,
  redisUrl: undefined,
  spans: undefined,
};

function request(method: string, headers: Record<string, string[]> = {}): RequestContext {
  return { method, slots: {}, req: { headersDistinct: headers } } as unknown as RequestContext;
}

test('a request without a key, or with a safe method, wants no response; a leased one does', async () => {
  const policy = idempotencyPolicy(
    Value.Default(idempotencySchema, {}) as never,
    {
      services,
      routeName: 'payments',
    } as never,
  );
  const route = { onResponse: [policy] } as never;
  const noKey = request('POST');
  assert.equal(policy.onRequest!(noKey), undefined);
  assert.equal(wantsResponse(noKey as never, route), false);
  const get = request('GET', { 'idempotency-key': ['k1'] });
  assert.equal(policy.onRequest!(get), undefined);
  assert.equal(wantsResponse(get as never, route), false);

  const leased = request('POST');
  (leased.slots as Record<string, unknown>).idempotency = { state: 'leased' };
  assert.equal(wantsResponse(leased as never, route), true);

  // runOnResponse passes a response by a policy that does not want it, untouched and uncalled.
  let called = 0;
  const spy = {
    onResponse: (_c: unknown, r: unknown) => {
      called++;
      return r;
    },
    wantsResponse: () => false,
  };
  const res = { status: 201, headers: {}, body: null };
  assert.equal(await runOnResponse(noKey as never, { onResponse: [spy] } as never, res), res);
  assert.equal(called, 0);
});
