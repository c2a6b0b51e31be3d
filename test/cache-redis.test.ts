/**
 * `core.cache` with the Redis store: two gateways with one key prefix share entries, invalidation
 * and the coalescing claim. Needs Redis on 127.0.0.1:6379; each test uses its own prefix and
 * deletes its keys afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, request, type ServerResponse } from 'node:http';
import { type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import { closeCacheStores } from '../src/ingress/policies/cache/index.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startUpstream, type TestUpstream, type UpstreamHandler } from './helpers/upstream.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * The cache key holds the Host the client asked for. Behind a load balancer every node sees the same
 * one; here the two gateways listen on different ports, so requests name one host explicitly, which
 * fetch() will not do (Host is a forbidden request header).
 */
function call(
  gw: TestGateway,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(gw.url(path), { method, headers: { host: 'api.example', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Two gateways in front of one upstream, sharing one Redis prefix. */
async function twoNodes(
  t: TestContext,
  handler: UpstreamHandler,
): Promise<{ up: TestUpstream; a: TestGateway; b: TestGateway; prefix: string }> {
  const prefix = `junction-test:cache:${randomBytes(6).toString('hex')}:`;
  t.after(() => deleteKeys(prefix));
  const up = await startUpstream(t, handler);
  const node = async () => {
    const gw = await startTestGateway(t, {
      upstreams: { app: { targets: [up.url] } },
      routes: [
        {
          name: 'cached',
          match: { path: '/*' },
          proxy: { upstream: 'app' },
          policies: { 'core.cache': { store: { kind: 'redis', url: REDIS_URL, keyPrefix: prefix } } },
        },
      ],
    });
    t.after(() => closeCacheStores(gw.gateway.services));
    return gw;
  };
  return { up, a: await node(), b: await node(), prefix };
}

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

test('an entry stored through gateway A is a hit on gateway B, bytes intact', async (t) => {
  const binary = Buffer.from([0, 255, 1, 254, 0x80, 0x0a, 0x0d, 0]);
  const { up, a, b } = await twoNodes(t, (req, res) =>
    send(res, 200, req.url === '/bin' ? binary : 'shared', {
      'content-type': 'application/octet-stream',
      'cache-control': 'max-age=60',
      etag: '"s1"',
    }),
  );
  const first = await call(a, '/bin');
  assert.deepEqual(first.body, binary);
  assert.equal(first.headers['x-cache'], 'MISS');
  const second = await call(b, '/bin');
  assert.equal(second.headers['x-cache'], 'HIT');
  assert.equal(second.headers.etag, '"s1"');
  assert.match(String(second.headers['cache-status']), /^junction; hit; ttl=\d+$/);
  assert.deepEqual(second.body, binary);
  assert.equal(up.seen.length, 1);
});

test('a write through gateway B invalidates what gateway A stored, every variant', async (t) => {
  let n = 0;
  const { up, a, b } = await twoNodes(t, (req, res) => {
    if (req.method === 'DELETE') return send(res, 204, '');
    n++;
    send(res, 200, `${req.headers['accept-language']} ${n}`, {
      'cache-control': 'max-age=60',
      vary: 'accept-language',
    });
  });
  const read = async (gw: TestGateway, lang: string) => {
    const r = await call(gw, '/doc', 'GET', { 'accept-language': lang });
    return `${r.headers['x-cache']} ${r.body}`;
  };
  assert.equal(await read(a, 'en'), 'MISS en 1');
  assert.equal(await read(a, 'de'), 'MISS de 2');
  assert.equal(await read(b, 'en'), 'HIT en 1');
  const del = await call(b, '/doc', 'DELETE');
  assert.equal(del.status, 204);
  assert.equal(await read(a, 'en'), 'MISS en 3');
  assert.equal(await read(b, 'de'), 'MISS de 4');
  assert.equal(up.seen.filter((s) => s.method === 'GET').length, 4);
});

test('concurrent cold misses on two gateways make one upstream request (cross-node claim)', async (t) => {
  const { up, a, b } = await twoNodes(t, (_req, res) => {
    setTimeout(() => send(res, 200, 'once', { 'cache-control': 'max-age=60' }), 300);
  });
  const answers = await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const r = await call(i % 2 === 0 ? a : b, '/cold');
      return `${r.status} ${r.body}`;
    }),
  );
  assert.deepEqual(answers, Array(40).fill('200 once'));
  assert.equal(up.seen.length, 1);
});

test('an unreachable Redis is a miss, not a failed request', async (t) => {
  const up = await startUpstream(t, (_req, res) =>
    send(res, 200, 'still served', { 'cache-control': 'max-age=60' }),
  );
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'cached',
        match: { path: '/*' },
        proxy: { upstream: 'app' },
        policies: { 'core.cache': { store: { kind: 'redis', url: 'redis://127.0.0.1:1', timeoutMs: 200 } } },
      },
    ],
  });
  t.after(() => closeCacheStores(gw.gateway.services));
  for (let i = 0; i < 2; i++) {
    const r = await call(gw, '/x');
    assert.equal(r.status, 200);
    assert.equal(String(r.body), 'still served');
  }
  assert.equal(up.seen.length, 2);
  assert.ok(
    gw.logs().some((l) => String(l.msg).startsWith('cache:')),
    'the outage is logged',
  );
});
