/**
 * The orders service's streaming endpoints, which the gateway must pass through without buffering:
 * `GET /orders/events` (Server-Sent Events) and the WebSocket at `/orders/live`.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { HttpError, type RouteContext } from './http.ts';

export const LIVE_PATH = '/orders/live';

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, 'invalid_query', `${name} must be an integer in ${min}..${max}`);
  }
  return value;
}

/**
 * `GET /orders/events?count=5&intervalMs=500`: one `order.created` event per interval, then the stream
 * ends. Events carry `id:` 1..count so a reconnecting client's `Last-Event-ID` resumes after the last one
 * it saw (HTML Living Standard §9.2 "Server-sent events").
 */
export function orderEvents({ req, res, url }: RouteContext): void {
  const count = intParam(url, 'count', 5, 1, 10_000);
  const intervalMs = intParam(url, 'intervalMs', 500, 0, 60_000);
  const lastId = Number(req.headers['last-event-id']);
  let sequence = Number.isInteger(lastId) && lastId > 0 ? lastId : 0;
  if (sequence >= count) {
    // 204 tells an EventSource the stream is over and not to reconnect (same section of the standard).
    res.writeHead(204).end();
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    // Asks nginx-style proxies in front of us not to buffer; the gateway must not either.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders(); // the client sees the stream open at once, not when the first event is due
  const timer = setInterval(() => {
    sequence++;
    const data = { orderId: `ord_${randomBytes(6).toString('hex')}`, sequence, at: new Date().toISOString() };
    // Each write goes to the socket straight away: no compression, and Node's server sets TCP_NODELAY.
    res.write(`id: ${sequence}\nevent: order.created\ndata: ${JSON.stringify(data)}\n\n`);
    if (sequence >= count) {
      clearInterval(timer);
      res.end();
    }
  }, intervalMs);
  res.on('close', () => clearInterval(timer));
}

/** `GET /orders/live` without an upgrade: say that this is a WebSocket endpoint (RFC 9110 §15.5.22). */
export function upgradeRequired({ res }: RouteContext): void {
  res.writeHead(426, { upgrade: 'websocket', connection: 'upgrade', 'content-type': 'text/plain' });
  res.end('this endpoint speaks WebSocket\n');
}

/**
 * Attaches the `/orders/live` WebSocket to `server`: says hello on connect and echoes each message back
 * as `{ echo: <text>, at: <iso time> }`. Returns a function that drops every live connection, since
 * upgraded sockets would otherwise keep `server.close()` waiting.
 */
export function attachLive(server: http.Server): () => void {
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => {
    ws.on('error', () => ws.terminate());
    ws.on('message', (data) => {
      ws.send(JSON.stringify({ echo: data.toString(), at: new Date().toISOString() }));
    });
    ws.send(JSON.stringify({ hello: 'orders' }));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (new URL(req.url ?? '/', 'http://service.local').pathname !== LIVE_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  return () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  };
}
