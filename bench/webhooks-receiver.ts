/**
 * The customer endpoint of `npm run bench -- webhooks`, in a process of its own so that answering
 * deliveries never shares an event loop with the gateway or the harness. Prints `{"port":N}` once
 * listening on 127.0.0.1 (port 0), then answers every POST with 204 and notes, for each request that
 * carries a `webhook-id`, when it arrived and the `sent_at` the load generator stamped into the
 * payload. Requests without one (the direct undici peer) are only counted.
 *
 * Arrival times are `performance.timeOrigin + performance.now()`: epoch milliseconds with
 * sub-millisecond resolution, the clock the load generator stamps with, on the same machine.
 *
 * Control paths (never counted): `GET /__stats?from=N` (counts, and the arrivals from index N on),
 * `POST /__hold` (from now on, deliveries are read but not answered, so the gateway's worker runs
 * out of slots and stops claiming: the accept phase measures sending alone), `POST /__release`
 * (answers every held request 204 and stops holding).
 */
import http, { type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();

/** One delivery: webhook-id, path (one per endpoint), arrival ms, payload's sent_at ms (or -1). */
type Arrival = [string, string, number, number];
const arrivals: Arrival[] = [];
let direct = 0;
let holding = false;
const held: ServerResponse[] = [];

function sentAt(body: string): number {
  // The payload is `{"seq":…,"sent_at":…,…}`; a regular expression spares a JSON.parse per request.
  const match = /"sent_at":([\d.]+)/.exec(body);
  return match ? Number(match[1]) : -1;
}

function control(req: http.IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/__stats') {
    const from = Number(url.searchParams.get('from') ?? arrivals.length);
    const body = JSON.stringify({
      count: arrivals.length,
      direct,
      held: held.length,
      arrivals: arrivals.slice(from),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    return;
  }
  if (url.pathname === '/__hold') holding = true;
  else if (url.pathname === '/__release') {
    holding = false;
    for (const r of held.splice(0)) r.writeHead(204).end();
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(204).end();
}

const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/__')) {
    req.resume();
    req.on('end', () => control(req, res));
    return;
  }
  const t = now();
  const id = req.headers['webhook-id'];
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (typeof id === 'string') {
      arrivals.push([id, req.url ?? '/', t, sentAt(Buffer.concat(chunks).toString('utf8'))]);
    } else direct++;
    if (holding) held.push(res);
    else res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
