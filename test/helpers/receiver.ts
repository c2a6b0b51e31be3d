/**
 * A customer's webhook receiver for tests: a real HTTP server on 127.0.0.1 port 0 that records every
 * request's header fields and body, then lets the test answer it. Closed by `t.after` (open
 * keep-alive connections too, or the close would wait for the client's idle timeout).
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Answers a request after it was recorded: ends `res`, or drops the connection through `req.socket`.
 */
export type Answer = (res: ServerResponse, hit: Hit, req: IncomingMessage) => void;

export interface Receiver {
  /** `http://127.0.0.1:<port><path>`. */
  url: string;
  /** Every request so far, in arrival order. */
  hits: Hit[];
}

const noContent: Answer = (res) => {
  res.statusCode = 204;
  res.end();
};

/**
 * @example
 * const rx = await startReceiver(t);
 * const ep = await admin.createEndpoint(app.id, { url: rx.url });
 * const hit = await waitFor('the delivery', () => rx.hits[0]);
 */
export async function startReceiver(
  t: TestContext,
  answer: Answer = noContent,
  path = '/hooks',
): Promise<Receiver> {
  const hits: Hit[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const hit = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    hits.push(hit);
    answer(res, hit, req);
  });
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, hits };
}
