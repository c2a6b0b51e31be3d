/**
 * WebSocket pass-through (RFC 6455 §4, RFC 9110 §7.8 Upgrade). The handshake is routed and goes
 * through the route's `onRequest` policies like any request; the upstream's `101` is relayed and
 * from then on bytes are piped both ways untouched, each side's backpressure holding the other.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { BadRequest, Internal, isJunctionError, JunctionError } from '../core/errors.ts';
import type { AccessEntry } from '../core/policy.ts';
import { problemResponse } from '../core/problem.ts';
import { Context } from './context.ts';
import { NoHealthyTarget, WebSocketRefused } from './errors.ts';
import { clientAddress, clientResponseHeaders, upstreamRequestHeaders } from './forwarding.ts';
import { type ProxyOptions, upstreamPath } from './handlers/proxy.ts';
import { absoluteFormAuthority, normalizeTarget } from './paths.ts';
import type { CompiledRoute } from './route.ts';
import type { Runtime } from './runtime.ts';
import { transportError } from './transport-errors.ts';

export function handleUpgrade(rt: Runtime, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const startedAt = performance.now();
  const peerIp = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  let ctx: Context | undefined;
  let route: CompiledRoute | undefined;
  socket.on('error', () => socket.destroy());
  const fail = (err: unknown) => {
    const known = isJunctionError(err) && err.code !== Internal.code;
    if (!known) rt.services.logger.error({ err, requestId: ctx?.id }, 'WebSocket handshake failed');
    if (ctx) ctx.errorCode = known ? err.code : Internal.code;
    writeProblem(socket, err, req, ctx?.id ?? rt.services.ids.next('req'), rt);
    if (ctx && route) log(rt, ctx, route, (err as { status?: number }).status ?? 500, startedAt, true);
  };
  try {
    const url = normalizeTarget(req.url);
    const authority = absoluteFormAuthority(req.url);
    if (authority !== undefined) req.headers.host = authority;
    const clientIp = clientAddress(peerIp, req.headers['x-forwarded-for'], rt.forwarding.trusted);
    ctx = new Context(rt.services.ids.next('req'), req, url, peerIp, clientIp, 'http', startedAt);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || req.method !== 'GET') {
      throw new JunctionError(BadRequest, 'only WebSocket upgrades over GET are relayed');
    }
    const m = rt.router.match(ctx.method, ctx.path, ctx.host, req.headers);
    route = m.route;
    ctx.routeName = route.name;
    ctx.params = m.params;
    ctx.version = m.version;
    ctx.versionPrefix = m.versionPrefix;
    const proxy = route.config.proxy;
    if (!proxy)
      throw new JunctionError(BadRequest, `route ${route.name} does not proxy, so it cannot upgrade`);
    const c = ctx;
    const r = route;
    runPolicies(c, r)
      .then((answered) => {
        if (answered) throw new JunctionError(BadRequest, 'the route answered the handshake itself');
        connect(rt, c, r, proxy, socket, head, startedAt);
      })
      .catch(fail);
  } catch (err) {
    fail(err);
  }
}

async function runPolicies(ctx: Context, route: CompiledRoute): Promise<boolean> {
  for (const p of route.onRequest) if ((await p.onRequest!(ctx)) !== undefined) return true;
  return false;
}

function connect(
  rt: Runtime,
  ctx: Context,
  route: CompiledRoute,
  proxy: ProxyOptions,
  client: Duplex,
  head: Buffer,
  startedAt: number,
) {
  const upstream = rt.upstreams.get(proxy.upstream)!;
  const picked = upstream.pick(ctx);
  if (picked === undefined)
    throw new JunctionError(NoHealthyTarget, `every target of ${upstream.name} is unhealthy`);
  const target = picked.target;
  ctx.upstream = upstream.name;
  ctx.target = target.origin;
  const headers = upstreamRequestHeaders(
    {
      headers: ctx.headers,
      peerIp: ctx.peerIp,
      protocol: ctx.protocol,
      host: ctx.host,
      requestId: ctx.id,
      preserveHost: proxy.preserveHost === true,
      extra: ctx.upstreamHeaders,
    },
    rt.forwarding,
  );
  // The handshake is rewritten like any request on the route (it used to ignore the prefixes).
  const path = upstreamPath(ctx, proxy);
  let controller: Dispatcher.DispatchController | undefined;
  let upgraded = false;
  let refusedWith = 0;
  // The client may leave while the upstream is still connecting or answering.
  client.once('close', () => {
    if (!upgraded) controller?.abort(new Error('client closed the connection'));
  });
  const handler: Dispatcher.DispatchHandler = {
    // undici ≥ 7 rejects a handler without `onRequestStart` (UND_ERR_INVALID_ARG).
    onRequestStart(c) {
      controller = c;
      if (client.destroyed) c.abort(new Error('client closed the connection'));
    },
    onRequestUpgrade(_controller, statusCode, resHeaders, upstreamSocket) {
      upgraded = true;
      const lines = [
        `HTTP/1.1 ${statusCode} Switching Protocols`,
        'connection: Upgrade',
        'upgrade: websocket',
      ];
      const out = clientResponseHeaders(
        resHeaders as Record<string, string | string[]>,
        ctx.responseHeaders,
        ctx.id,
        rt.forwarding,
      );
      for (let i = 0; i < out.length; i += 2) lines.push(`${out[i]}: ${out[i + 1]}`);
      client.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstreamSocket.write(head);
      const duplex = upstreamSocket as Duplex;
      duplex.on('error', () => client.destroy());
      client.on('error', () => duplex.destroy());
      duplex.on('close', () => client.destroy());
      client.on('close', () => {
        duplex.destroy();
        upstream.done(target, false);
        log(rt, ctx, route, 101, startedAt, false);
      });
      client.pipe(duplex);
      duplex.pipe(client);
    },
    // Any status but 101 is the upstream declining the upgrade with a valid HTTP response: a proxy
    // relays it (a 401 or 404 stays one; RFC 9110 §15.6.3 keeps 502 for invalid responses).
    // Hop-by-hop fields go, and the connection closes after it, delimiting the body (RFC 9112 §6.3).
    onResponseStart(c, statusCode, resHeaders, statusText) {
      refusedWith = statusCode;
      ctx.errorCode = WebSocketRefused.code;
      const out = clientResponseHeaders(resHeaders, ctx.responseHeaders, ctx.id, rt.forwarding);
      const lines = [`HTTP/1.1 ${statusCode} ${statusText || STATUS_CODES[statusCode] || ''}`];
      for (let i = 0; i < out.length; i += 2) lines.push(`${out[i]}: ${out[i + 1]}`);
      lines.push('connection: close');
      if (!client.write(`${lines.join('\r\n')}\r\n\r\n`)) c.pause();
      client.on('drain', () => c.resume());
    },
    onResponseData(c, chunk) {
      if (!client.write(chunk)) c.pause();
    },
    onResponseEnd() {
      client.end();
      upstream.done(target, refusedWith >= 500);
      log(rt, ctx, route, refusedWith, startedAt, false);
    },
    onResponseError(_controller, err) {
      upstream.done(target, !client.destroyed);
      if (client.destroyed) {
        log(rt, ctx, route, 499, startedAt, true); // the client left first; nothing to tell it
        return;
      }
      if (refusedWith !== 0) {
        // The refusal's head is out: cut the connection so its body does not look complete.
        client.destroy();
        log(rt, ctx, route, refusedWith, startedAt, true);
        return;
      }
      const mapped =
        (err as { code?: string }).code === 'UND_ERR_SOCKET' && /upgrade/i.test(err.message)
          ? new JunctionError(WebSocketRefused, `${upstream.name} did not switch protocols`, { cause: err })
          : transportError(err, upstream.name);
      ctx.errorCode = mapped.code;
      if (mapped.code === Internal.code) {
        rt.services.logger.error({ err, requestId: ctx.id }, 'WebSocket relay failed');
      }
      writeProblem(client, mapped, ctx.req, ctx.id, rt);
      log(rt, ctx, route, mapped.status, startedAt, false);
    },
  };
  upstream.sent(target);
  target.pool.dispatch({ path, method: 'GET', headers, upgrade: 'websocket' }, handler);
}

function writeProblem(socket: Duplex, err: unknown, req: IncomingMessage, id: string, rt: Runtime): void {
  if (!socket.writable) return;
  const { status, headers, body } = problemResponse(err, req.headers.accept, id);
  const lines = [`HTTP/1.1 ${status} ${status === 502 ? 'Bad Gateway' : 'Error'}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push(`${rt.forwarding.requestIdHeader}: ${id}`, `content-length: ${Buffer.byteLength(body)}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function log(
  rt: Runtime,
  ctx: Context,
  route: CompiledRoute,
  status: number,
  startedAt: number,
  aborted: boolean,
) {
  const entry: AccessEntry = {
    status,
    durationMs: performance.now() - startedAt,
    bytesIn: 0,
    bytesOut: 0,
    upstream: ctx.upstream,
    target: ctx.target,
    errorCode: ctx.errorCode,
    aborted,
  };
  for (const p of route.onLog) {
    try {
      p.onLog!(ctx, entry);
    } catch (err) {
      rt.services.logger.error({ err, requestId: ctx.id }, 'onLog policy failed');
    }
  }
}
