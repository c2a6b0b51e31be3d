/**
 * The benchmark's upstream: answers every request with the same 1 KB JSON body. The body and its
 * headers are computed once so the upstream costs as little CPU as possible per request: on a
 * 2-core machine it competes with the proxy under test for the same cores.
 *
 * Usage: node bench/upstream.ts [port]   (default 0: prints {"port":N} once listening)
 */
import http from 'node:http';

const item = { id: 'itm_0000000000', name: 'widget', price: 1999, currency: 'EUR', tags: ['a', 'b'] };
const base = JSON.stringify({ items: [item, item, item], padding: '' });
// Pad to exactly 1024 bytes so every peer moves the same bytes.
const body = Buffer.from(
  JSON.stringify({ items: [item, item, item], padding: 'x'.repeat(1024 - base.length) }),
);
if (body.length !== 1024) throw new Error(`upstream body is ${body.length} bytes, expected 1024`);

const headers = {
  'content-type': 'application/json',
  'content-length': String(body.length),
  'cache-control': 'no-store',
};

// The same body, marked cacheable for a shared cache: the cached peer's route asks for these paths.
const cacheableHeaders = { ...headers, 'cache-control': 'public, max-age=3600' };

const server = http.createServer((req, res) => {
  // Drain any request body so the keep-alive connection can be reused.
  req.resume();
  res.writeHead(200, req.url?.includes('/cacheable') ? cacheableHeaders : headers);
  res.end(body);
});
// Longer than any proxy's idle pool timeout, so idle sockets are closed by the proxy, not under it.
server.keepAliveTimeout = 65_000;

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});

process.on('SIGTERM', () => process.exit(0));
