import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestGateway } from './helpers/gateway.ts';
import { startUpstream } from './helpers/upstream.ts';

test('proxies a GET to the upstream and logs it with the request id', async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [{ name: 'app', match: { path: '/app/*' }, proxy: { upstream: 'app', stripPrefix: '/app' } }],
  });
  const res = await fetch(gw.url('/app/hello?x=1'));
  assert.equal(res.status, 200);
  const body = (await res.json()) as { url: string };
  assert.equal(body.url, '/hello?x=1');
  const id = res.headers.get('x-request-id');
  assert.match(id ?? '', /^req_/);
  // The access line is written once the response finished, which may be after the client has it:
  // wait for the line rather than a fixed 50 ms.
  const logged = () => gw.logs().some((l) => l.msg === 'request' && l.requestId === id && l.status === 200);
  for (const until = Date.now() + 10_000; !logged() && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(logged());
});
