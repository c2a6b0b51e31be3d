/** A real upstream HTTP server on 127.0.0.1 port 0 that records what it received; closed by `t.after`. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
}

export interface TestUpstream {
  server: Server;
  url: string;
  port: number;
  seen: SeenRequest[];
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Default handler: 200 JSON echo of method, url and headers. */
export const echo: UpstreamHandler = (req, res) => {
  const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

export async function startUpstream(t: TestContext, handler: UpstreamHandler = echo): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
    });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, port, seen };
}

export interface HeldUpstream {
  up: TestUpstream;
  /** Resolves when the first request has arrived (and is being held). */
  arrival: Promise<void>;
  /** Answers every held request with 200 and `body`. */
  release(body?: string): void;
}

/** An upstream that holds every request until `release()`: for drain and reload tests. */
export async function startHeldUpstream(t: TestContext): Promise<HeldUpstream> {
  const held: ServerResponse[] = [];
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const up = await startUpstream(t, (_req, res) => {
    held.push(res);
    arrived();
  });
  const release = (body = 'done') => {
    for (const res of held.splice(0)) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }
  };
  return { up, arrival, release };
}

/**
 * A raw TCP "upstream" for what node:http will not produce (malformed responses, resets, refusals):
 * `onSocket` decides what happens on each connection. Returns its origin.
 */
export async function startRawUpstream(t: TestContext, onSocket: (s: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw upstream that answers each request head with the same bytes. */
export function startCannedUpstream(t: TestContext, response: string): Promise<string> {
  return startRawUpstream(t, (s) => {
    let head = '';
    s.on('data', (c: Buffer) => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        head = '';
        s.write(response);
      }
    });
  });
}

/**
 * An origin that refuses connections, for upstream_unreachable. Port 1 (tcpmux) has no listener and
 * every test server binds port 0, which the kernel picks from the ephemeral range: unlike a port
 * freed a moment ago, no concurrently running suite can take it.
 */
export const REFUSED_ORIGIN = 'http://127.0.0.1:1';
