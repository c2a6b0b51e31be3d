import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import type { RequestContext, UpstreamResponse } from '../../../core/policy.ts';
import type { Services } from '../../../core/services.ts';
import { securityHeadersPolicy } from './index.ts';
import { securityHeadersSchema } from './schema.ts';

function ctx(protocol: 'http' | 'https'): RequestContext {
  return { protocol, responseHeaders: {}, upstreamHeaders: {}, slots: {} } as unknown as RequestContext;
}

const env = { routeName: 'r', services: {} as Services };
const policy = (config: Record<string, unknown>) =>
  securityHeadersPolicy(Value.Default(securityHeadersSchema, structuredClone(config)) as never, env);

test('HSTS is sent over https with the configured max-age, includeSubDomains and preload', async () => {
  const c = ctx('https');
  await policy({ hsts: { maxAgeS: 600, preload: true } }).onRequest!(c);
  assert.equal(c.responseHeaders['strict-transport-security'], 'max-age=600; includeSubDomains; preload');
  const plain = ctx('http');
  await policy({}).onRequest!(plain);
  assert.equal(plain.responseHeaders['strict-transport-security'], undefined);
});

test('every header can be turned off, and CSP can be report-only', async () => {
  const c = ctx('https');
  await policy({
    contentSecurityPolicy: {
      reportOnly: true,
      directives: { 'default-src': ["'self'"], 'upgrade-insecure-requests': [] },
    },
    hsts: { enabled: false },
    contentTypeOptions: false,
    referrerPolicy: false,
    frameOptions: false,
    crossOriginOpenerPolicy: false,
  }).onRequest!(c);
  assert.deepEqual(c.responseHeaders, {
    'content-security-policy-report-only': "default-src 'self'; upgrade-insecure-requests",
  });
});

test('without override the policy steps aside for names the upstream set; with it, it does not', async () => {
  const upstream: UpstreamResponse = { status: 200, headers: { 'referrer-policy': 'origin' }, body: null };
  const polite = policy({});
  const c = ctx('https');
  await polite.onRequest!(c);
  await polite.onResponse!(c, upstream);
  assert.equal(c.responseHeaders['referrer-policy'], undefined);
  assert.equal(c.responseHeaders['x-content-type-options'], 'nosniff');
  assert.equal(policy({ override: true }).onResponse, undefined);
});
