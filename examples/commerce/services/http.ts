/**
 * What the demo's upstream services share: a route table over `node:http`, JSON in and out, the
 * `/healthz` and `/debug/headers` endpoints, and listen/close. These services stand in for someone
 * else's systems behind the gateway, so they deliberately import nothing from Junction's `src/`.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StartOptions {
  port: number;
  host?: string;
}

export interface RunningService {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  params: Record<string, string | undefined>;
  url: URL;
}

export interface Route {
  method: string;
  /** A URLPattern pathname, e.g. `/users/:id`; the first route that matches wins. */
  path: string;
  handle(ctx: RouteContext): void | Promise<void>;
}

/** Thrown by handlers and `readJson`; becomes a JSON error answer with this status. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** 64 KB: larger than any demo payload, small enough that a flood of bodies cannot exhaust memory. */
export const MAX_BODY_BYTES = 64 * 1024;

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: code, message });
}

/** Reads and parses a JSON body, refusing more than `limitBytes` (413) and malformed JSON (400). */
export async function readJson(req: http.IncomingMessage, limitBytes = MAX_BODY_BYTES): Promise<unknown> {
  const body = await readBody(req, limitBytes);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid JSON');
  }
}

/** Reads the raw body (a signature is checked over these bytes), refusing more than `limitBytes` (413). */
export async function readBody(req: http.IncomingMessage, limitBytes = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, 'payload_too_large', `body exceeds ${limitBytes} bytes`);
  // Refuse on the declared length before reading a byte; chunked bodies are counted as they arrive.
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) throw tooLarge();
  // Listeners rather than `for await`: leaving an async iterator early destroys the request, and with
  // it the socket the 413 answer has to go out on.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.off('data', onData);
        req.resume(); // discard the rest; the answer says `connection: close`
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Routes every service answers; listed last so a service's own routes win. */
const commonRoutes: Route[] = [
  { method: 'GET', path: '/healthz', handle: ({ res }) => sendJson(res, 200, { status: 'ok' }) },
  {
    method: 'GET',
    path: '/debug/headers',
    // Echoes what arrived so the demo can show what the gateway added (traceparent, x-forwarded-*, via).
    handle: ({ req, res }) => sendJson(res, 200, { headers: req.headers, method: req.method, url: req.url }),
  },
];

/** Builds the request listener for a route table; unknown paths get 404, known paths with another method 405. */
export function router(routes: Route[]): http.RequestListener {
  const table = [...routes, ...commonRoutes].map((r) => ({
    ...r,
    pattern: new URLPattern({ pathname: r.path }),
  }));
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://service.local');
    const allowed = new Set<string>();
    for (const route of table) {
      const match = route.pattern.exec({ pathname: url.pathname });
      if (!match) continue;
      if (route.method !== req.method) {
        allowed.add(route.method);
        continue;
      }
      const ctx = { req, res, url, params: match.pathname.groups };
      Promise.resolve()
        .then(() => route.handle(ctx))
        .catch((err: unknown) => fail(res, err));
      return;
    }
    if (allowed.size > 0) {
      res.setHeader('allow', [...allowed].join(', '));
      sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}`);
    } else {
      sendError(res, 404, 'not_found', `no route for ${req.method} ${url.pathname}`);
    }
  };
}

function fail(res: http.ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  if (err instanceof HttpError) {
    // An unread body is drained by Node for keep-alive; closing instead lets a 413 client stop sending.
    if (err.status === 413) res.setHeader('connection', 'close');
    sendError(res, err.status, err.code, err.message);
  } else {
    sendError(res, 500, 'internal_error', 'unexpected error');
  }
}

/** Listens and returns the real url (port 0 picks a free port) and a close that ends open streams too. */
export function listen(
  server: http.Server,
  options: StartOptions,
  beforeClose: () => void = () => {},
): Promise<RunningService> {
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const urlHost = host.includes(':') ? `[${host}]` : host;
      let closing: Promise<void> | undefined;
      resolve({
        server,
        url: `http://${urlHost}:${port}`,
        // Idempotent, so a test's `t.after(close)` may follow an explicit close.
        close: () =>
          (closing ??= new Promise<void>((done, failClose) => {
            beforeClose();
            server.close((err) => (err ? failClose(err) : done()));
            // Keep-alive sockets and endless SSE responses would otherwise hold close() open.
            server.closeAllConnections();
          })),
      });
    });
  });
}
