/**
 * WebSocket pass-through (RFC 6455 §4, RFC 9110 §7.8 Upgrade). The handshake is routed and goes
 * through the route's `onRequest` policies like any request; the upstream's `101` is relayed and
 * from then on bytes are piped both ways untouched, each side's backpressure holding the other.
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { BadRequest, JunctionError } from '../core/errors.ts';
import type { AccessEntry } from '../core/policy.ts';
import { problemResponse } from '../core/problem.ts';
import { Context } from './context.ts';
import { WebSocketRefused } from './errors.ts';
import { clientAddress, clientResponseHeaders, upstreamRequestHeaders } from './forwarding.ts';
import { normalizeTarget } from './paths.ts';
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
    if (ctx) ctx.errorCode = (err as { code?: string }).code;
    writeProblem(socket, err, req, ctx?.id ?? rt.services.ids.next('req'), rt);
    if (ctx && route) log(rt, ctx, route, (err as { status?: number }).status ?? 500, startedAt, true);
  };
  try {
    const url = normalizeTarget(req.url);
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
        connect(rt, c, r, proxy.upstream, socket, head, startedAt);
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
  upstreamName: string,
  client: Duplex,
  head: Buffer,
  startedAt: number,
) {
  const upstream = rt.upstreams.get(upstreamName)!;
  const target = upstream.pick();
  ctx.upstream = upstream.name;
  ctx.target = target.origin;
  const headers = upstreamRequestHeaders(
    {
      headers: ctx.headers,
      peerIp: ctx.peerIp,
      protocol: ctx.protocol,
      host: ctx.host,
      requestId: ctx.id,
      preserveHost: false,
      extra: ctx.upstreamHeaders,
    },
    rt.forwarding,
  );
  let path = ctx.path + ctx.query;
  if (ctx.versionPrefix) path = path.slice(ctx.versionPrefix.length) || '/';
  const handler: Dispatcher.DispatchHandler = {
    onRequestUpgrade(_controller, statusCode, resHeaders, upstreamSocket) {
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
        log(rt, ctx, route, 101, startedAt, false);
      });
      client.pipe(duplex);
      duplex.pipe(client);
    },
    onResponseError(_controller, err) {
      const mapped =
        (err as { code?: string }).code === 'UND_ERR_SOCKET' && /upgrade/i.test(err.message)
          ? new JunctionError(WebSocketRefused, `${upstream.name} did not switch protocols`, { cause: err })
          : transportError(err, upstream.name);
      ctx.errorCode = mapped.code;
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
