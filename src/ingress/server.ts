/**
 * The proxy listener: one `node:http` server (`node:https` when `listeners.proxy.tls` is set, Q15)
 * whose request path is the phases of `core/phases.ts` against the current runtime snapshot. The
 * data plane uses node:http directly, not Fastify: the benchmark (docs/benchmarks.md) showed the
 * framework's per-request work is what separates a Node proxy from nginx, and routing + policies
 * here replace what it would give us.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { BadRequest, HeadersTooLarge, JunctionError, RequestTimeout } from '../core/errors.ts';
import type { AccessEntry, Answer } from '../core/policy.ts';
import { renderProblem, toProblem } from '../core/problem.ts';
import { Context } from './context.ts';
import { clientAddress } from './forwarding.ts';
import { absoluteFormAuthority, normalizeTarget } from './paths.ts';
import type { CompiledRoute } from './route.ts';
import type { Runtime } from './runtime.ts';
import { sendAnswer, sendProblem } from './send.ts';
import { handshakeRefusal, type ListenerTlsOptions } from './tls.ts';
import { handleUpgrade } from './websocket.ts';

export interface ProxyServerOptions {
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Serve HTTPS (and ask for client certificates when it says so); see ./tls.ts. */
  tls?: ListenerTlsOptions;
}

export class ProxyServer {
  readonly server: Server;
  #rt: Runtime;
  readonly #tls: boolean;
  #inflight = 0;
  #draining = false;
  #idle: (() => void) | undefined;
  /** Client sockets handed over to a WebSocket relay; the HTTP server no longer tracks them. */
  readonly #upgraded = new Set<Socket>();

  constructor(runtime: Runtime, options: ProxyServerOptions) {
    this.#rt = runtime;
    this.#tls = options.tls !== undefined;
    runtime.services.metrics.inflightNow = () => this.#inflight;
    const http = {
      maxHeaderSize: options.maxHeaderBytes,
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // Keep every value of a repeated field rather than drop all but one (RFC 9110 §5.3).
      joinDuplicateHeaders: true,
      // Only WebSocket is relayed as an upgrade; any other offer (`Upgrade: h2c` from
      // `curl --http2`) is served as the HTTP/1.1 request it also is (RFC 9110 §7.8).
      shouldUpgradeCallback: (req: IncomingMessage) => /^\s*websocket\s*$/i.test(req.headers.upgrade ?? ''),
    };
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res);
    // An https.Server is an http.Server over TLS sockets: everything below works on either.
    this.server = options.tls
      ? createHttpsServer({ ...http, ...options.tls }, onRequest)
      : createServer(http, onRequest);
    if (options.tls) this.server.on('tlsClientError', (err, socket) => this.#onTlsError(err, socket));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
      this.#onClientError(err, socket),
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.#upgraded.add(socket);
      socket.once('close', () => {
        this.#upgraded.delete(socket);
        this.#checkIdle();
      });
      handleUpgrade(this.#rt, req, socket, head);
    });
  }

  /** Whether the listener serves HTTPS. */
  get tls(): boolean {
    return this.#tls;
  }

  /**
   * New certificate, key, CA bundle or minimum version for connections from now on (config reload,
   * rotation); connections already open keep theirs. `requestCert` and `rejectUnauthorized` are
   * fixed when the listener starts.
   */
  setTls(options: ListenerTlsOptions): void {
    if (this.#tls) (this.server as HttpsServer).setSecureContext(options);
  }

  get runtime(): Runtime {
    return this.#rt;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Atomically replaces the snapshot; requests already running keep theirs. */
  swap(runtime: Runtime): void {
    this.#rt = runtime;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting connections and waits for in-flight requests, at most `timeoutMs`; then closes
   * what is left. Resolves true when everything finished in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const finished =
      (this.#inflight === 0 && this.#upgraded.size === 0) ||
      (await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        this.#idle = () => {
          clearTimeout(timer);
          resolve(true);
        };
      }));
    this.server.closeAllConnections();
    // `server.close()` waits for every socket, upgraded ones included: without this a single open
    // WebSocket would hold shutdown forever, whatever the drain timeout.
    for (const socket of this.#upgraded) socket.destroy();
    await closed;
    return finished;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rt = this.#rt;
    const startedAt = performance.now();
    const peerIp = normalizeIp(req.socket.remoteAddress);
    const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    let url: string;
    try {
      url = normalizeTarget(req.url);
    } catch (err) {
      url = '/';
      const ctx = new Context(rt.services.ids.next('req'), req, url, peerIp, peerIp, protocol, startedAt);
      this.#fail(rt, ctx, res, rt.fallback, err);
      return;
    }
    const authority = absoluteFormAuthority(req.url);
    if (authority !== undefined) req.headers.host = authority;
    const clientIp = clientAddress(peerIp, req.headers['x-forwarded-for'], rt.forwarding.trusted);
    const ctx = new Context(rt.services.ids.next('req'), req, url, peerIp, clientIp, protocol, startedAt);
    this.#inflight++;
    if (this.#draining) res.shouldKeepAlive = false;

    let route: CompiledRoute;
    try {
      const m = rt.router.match(ctx.method, ctx.path, ctx.host, req.headers);
      route = m.route;
      ctx.params = m.params;
      ctx.version = m.version;
      ctx.versionPrefix = m.versionPrefix;
    } catch (err) {
      route = rt.fallback;
      this.#track(rt, ctx, res, route);
      sendProblem(ctx, res, err, rt);
      return;
    }
    ctx.routeName = route.name;
    this.#track(rt, ctx, res, route);
    if (route.deprecation !== undefined) addDeprecation(ctx, route);

    this.#run(rt, ctx, res, route, 0);
  }

  /**
   * Runs the `onRequest` policies from index `i`, then the handler. Stays synchronous while the
   * policies answer synchronously (most do), so a request pays for a promise only when a policy
   * really awaits something.
   */
  #run(rt: Runtime, ctx: Context, res: ServerResponse, route: CompiledRoute, i: number): void {
    try {
      const policies = route.onRequest;
      for (; i < policies.length; i++) {
        const r = policies[i]!.onRequest!(ctx);
        if (r === undefined) continue;
        if (r instanceof Promise) {
          const next = i + 1;
          r.then(
            (answer: Answer | undefined) =>
              answer === undefined
                ? this.#run(rt, ctx, res, route, next)
                : this.#answer(rt, ctx, res, answer),
            (err: unknown) => sendProblem(ctx, res, err, rt),
          );
          return;
        }
        this.#answer(rt, ctx, res, r);
        return;
      }
      const done = route.handler.handle(ctx, res, route, rt);
      if (done !== undefined) done.catch((err: unknown) => sendProblem(ctx, res, err, rt));
    } catch (err) {
      sendProblem(ctx, res, err, rt);
    }
  }

  #answer(rt: Runtime, ctx: Context, res: ServerResponse, answer: Answer): void {
    try {
      sendAnswer(ctx, res, answer, rt);
    } catch (err) {
      sendProblem(ctx, res, err, rt);
    }
  }

  #checkIdle(): void {
    if (this.#inflight === 0 && this.#upgraded.size === 0 && this.#idle) this.#idle();
  }

  /**
   * Runs `onLog` once the exchange is over, whichever way it ended. The one `close` listener of the
   * request: handlers that must react to the client leaving set `ctx.onClose` instead of adding one.
   */
  #track(rt: Runtime, ctx: Context, res: ServerResponse, route: CompiledRoute): void {
    res.on('close', () => {
      ctx.onClose?.();
      this.#inflight--;
      this.#checkIdle();
      if (route.onLog.length === 0) return;
      const entry: AccessEntry = {
        status: res.headersSent ? res.statusCode : 499,
        durationMs: performance.now() - ctx.startedAt,
        bytesIn: ctx.bytesIn,
        bytesOut: ctx.bytesOut,
        upstream: ctx.upstream,
        target: ctx.target,
        errorCode: ctx.errorCode,
        aborted: !res.writableFinished,
      };
      for (const p of route.onLog) {
        try {
          p.onLog!(ctx, entry);
        } catch (err) {
          rt.services.logger.error({ err, requestId: ctx.id }, 'onLog policy failed');
        }
      }
    });
  }

  #fail(rt: Runtime, ctx: Context, res: ServerResponse, route: CompiledRoute, err: unknown): void {
    this.#inflight++;
    this.#track(rt, ctx, res, route);
    sendProblem(ctx, res, err, rt);
  }

  /**
   * A handshake that failed: Node has already closed the socket. A refused client certificate is a
   * denial worth auditing (Q50); the rest (scanners, plain HTTP on the TLS port) is only logged.
   */
  #onTlsError(err: NodeJS.ErrnoException, socket: TLSSocket): void {
    const rt = this.#rt;
    const reason = handshakeRefusal(err, socket);
    const clientIp = normalizeIp(socket.remoteAddress);
    rt.services.logger[reason === undefined ? 'debug' : 'info'](
      { code: err.code, reason, clientIp },
      'TLS handshake failed',
    );
    if (reason !== undefined)
      rt.services.audit.record({
        action: 'auth.deny',
        outcome: 'deny',
        resource: 'listener:proxy',
        clientIp,
        reason,
      });
  }

  /**
   * Requests Node's parser rejects before they become requests: malformed syntax (400), header
   * section over `maxHeaderBytes` (431, RFC 6585 §5), headers or body too slow (408). The socket gets
   * a problem document and is closed; the process never throws.
   */
  #onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const rt = this.#rt;
    // A response already on its way out (the bad request was pipelined behind a good one) would get
    // our 400 spliced into its body; like Node's own default (lib/_http_server.js socketOnError),
    // cut the connection instead.
    const current = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent) {
      socket.destroy();
      return;
    }
    const spec =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? HeadersTooLarge
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT'
          ? RequestTimeout
          : BadRequest;
    const id = rt.services.ids.next('req');
    rt.services.logger.warn(
      { requestId: id, code: err.code, clientIp: socket.remoteAddress },
      'rejected malformed request',
    );
    const { status, headers, body } = renderProblem(toProblem(new JunctionError(spec), id), 'json');
    const head = [`HTTP/1.1 ${status} ${spec.title}`, `content-type: ${headers['content-type']}`];
    head.push(
      `content-length: ${Buffer.byteLength(body)}`,
      `${rt.forwarding.requestIdHeader}: ${id}`,
      'connection: close',
    );
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  }
}

function normalizeIp(ip: string | undefined): string {
  if (ip === undefined) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function addDeprecation(ctx: Context, route: CompiledRoute): void {
  const d = route.deprecation!;
  Object.assign(ctx.responseHeaders, d.headers);
  const links: string[] = [];
  if (d.successorPrefix !== undefined) {
    const path = ctx.versionPrefix === undefined ? ctx.path : ctx.path.slice(ctx.versionPrefix.length);
    links.push(`<${d.successorPrefix}${path}>; rel="successor-version"`);
  }
  if (d.link !== undefined) links.push(d.link);
  if (links.length > 0) ctx.responseHeaders.link = links.join(', ');
}
