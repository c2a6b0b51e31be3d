import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { type Buffered, bufferBody, hasBody } from './body.ts';

type Consume = (req: IncomingMessage) => Promise<Buffer>;

const consumers: Record<string, Consume> = {
  'async iterator': async (req) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  },
  'data events': (req) =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
    }),
};

/** A server that buffers each body first, then lets `consume` read the request as a handler would. */
async function serve(t: TestContext, max: number, consume: Consume) {
  const seen: { read: Buffered; after: Buffer; has: boolean }[] = [];
  const server = createServer(async (req, res) => {
    const has = hasBody(req);
    const read = has ? await bufferBody(req, max) : { body: Buffer.alloc(0) };
    const after = await consume(req);
    seen.push({ read, after, has });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (body: Buffer, chunked: boolean) =>
    new Promise<void>((resolve, reject) => {
      const headers: Record<string, string> = chunked ? {} : { 'content-length': String(body.length) };
      const req = request(url, { method: 'POST', headers }, (res) => res.resume().on('end', resolve));
      req.on('error', reject);
      if (chunked) {
        req.write(body.subarray(0, body.length >> 1));
        setTimeout(() => req.end(body.subarray(body.length >> 1)), 5);
      } else req.end(body);
    });
  return { seen, post };
}

for (const [name, consume] of Object.entries(consumers)) {
  test(`the buffered body is still whole for the handler (${name}), declared or chunked`, async (t) => {
    const { seen, post } = await serve(t, 4 << 20, consume);
    const big = Buffer.alloc(3 << 20, 7);
    for (const body of [Buffer.from('{"amount":1}'), big]) {
      for (const chunked of [false, true]) await post(body, chunked);
    }
    await post(Buffer.alloc(0), false);
    assert.equal(seen.length, 5);
    for (const s of seen.slice(0, 4)) {
      assert.ok('body' in s.read);
      assert.deepEqual(s.after, s.read.body);
    }
    assert.equal(seen[2]!.after.length, big.length);
    assert.equal(seen[4]!.has, false);
  });

  test(`past maxBytes it reports tooLarge and gives back every byte (${name})`, async (t) => {
    const { seen, post } = await serve(t, 1000, consume);
    const body = Buffer.alloc(200_000, 1);
    for (const chunked of [false, true]) await post(body, chunked);
    for (const s of seen) {
      assert.deepEqual(s.read, { tooLarge: true });
      assert.equal(s.after.length, body.length);
    }
  });
}
