/**
 * The `proxy` handler (Q37): relays the request to one target of an upstream and streams the answer
 * back, with backpressure both ways and no buffering — a 1 GiB body costs no more memory than a
 * small one. Built on undici's `dispatch` handler interface rather than `request()`: the response
 * goes straight from the upstream socket into the client's, without an intermediate stream.
 */
import type { ServerResponse } from 'node:http';
import { type Readable, Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import { JunctionError, PayloadTooLarge } from '../../core/errors.ts';
import { DeadlineExceeded, withDeadline } from '../../resilience/index.ts';
import type { Context } from '../context.ts';
import { NoHealthyTarget, UpstreamTimeout } from '../errors.ts';
import { upstreamRequestHeaders } from '../forwarding.ts';
import type { RouteStack } from '../resilience.ts';
import type { CompiledRoute, Handler } from '../route.ts';
import type { Runtime } from '../runtime.ts';
import { answerError } from '../send.ts';
import { transportError } from '../transport-errors.ts';
import type { Target, Upstream } from '../upstreams.ts';
import { Exchange } from './exchange.ts';

export interface ProxyOptions {
  upstream: string;
  stripPrefix?: string;
  addPrefix?: string;
  preserveHost?: boolean;
}

export function proxyHandler(options: ProxyOptions): Handler {
  return {
    upstream: options.upstream,
    handle(ctx, res, route, rt) {
      return forward(ctx, res, route, rt, rt.upstreams.get(options.upstream)!, options);
    },
  };
}

/** Relays the request to a target of `upstream` (the proxy handler, and the shard handler once it chose). */
export function forward(
  ctx: Context,
  res: ServerResponse,
  route: CompiledRoute,
  rt: Runtime,
  upstream: Upstream,
  options: Omit<ProxyOptions, 'upstream'>,
): void | Promise<void> {
  const req = ctx.req;
  const length = req.headers['content-length'];
  let size: number | undefined;
  if (length !== undefined) {
    size = Number(length);
    if (size > route.maxBodyBytes) {
      throw new JunctionError(
        PayloadTooLarge,
        `body of ${size} bytes exceeds the limit of ${route.maxBodyBytes}`,
      );
    }
    ctx.bytesIn = size;
  }
  const headers = upstreamRequestHeaders(
    {
      headers: req.headers,
      peerIp: ctx.peerIp,
      protocol: ctx.protocol,
      host: ctx.host,
      requestId: ctx.id,
      preserveHost: options.preserveHost === true,
      extra: ctx.upstreamHeaders,
    },
    rt.forwarding,
  );
  const path = upstreamPath(ctx, options);
  const stack = route.stackFor(upstream.name);
  if (stack !== undefined) return resilient(ctx, res, route, rt, upstream, stack, path, headers, size);

  const target = pick(ctx, upstream);
  let body: Readable | null = null;
  if (size !== undefined) {
    if (size > 0) body = req;
  } else if (req.headers['transfer-encoding'] !== undefined) {
    body = chunkedBody(ctx, route);
  }
  upstream.sent(target);
  const exchange = new Exchange(ctx, res, route, rt, upstream, target, false);
  ctx.onClose = exchange.onClientClose;
  dispatch(target, exchange, ctx, path, headers, body);
}

function pick(ctx: Context, upstream: Upstream): Target {
  const picked = upstream.pick(ctx);
  if (picked === undefined)
    throw new JunctionError(NoHealthyTarget, `every target of ${upstream.name} is unhealthy`);
  if (picked.setCookie !== undefined) ctx.responseHeaders['set-cookie'] = picked.setCookie;
  ctx.upstream = upstream.name;
  ctx.target = picked.target.origin;
  return picked.target;
}

function dispatch(
  target: Target,
  exchange: Exchange,
  ctx: Context,
  path: string,
  headers: string[],
  body: Readable | Buffer | null,
  headersTimeout?: number,
): void {
  target.pool.dispatch(
    {
      origin: target.origin,
      path,
      method: ctx.method as Dispatcher.HttpMethod,
      headers,
      body,
      // RFC 9110 §9.2.2: retrying is for resilience policies to decide, not the transport.
      idempotent: false,
      ...(headersTimeout === undefined ? {} : { headersTimeout }),
    },
    exchange,
  );
}

/** Chunked: the size is only known as it arrives, so count on the way through. */
function chunkedBody(ctx: Context, route: CompiledRoute): Readable {
  return ctx.req.pipe(byteLimit(route.maxBodyBytes, ctx));
}

/** RFC 9110 §9.2.2; a request with an Idempotency-Key is safe to repeat by agreement (draft-ietf-httpapi-idempotency-key-header). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * The resilient path: the stack (deadline, retry, breaker, bulkhead, per-try timeout) runs attempts
 * in deferred mode and judges each response head; the one it settles on is committed to the client.
 * A request is retried only when repeating it is safe and its body was small enough to keep.
 */
async function resilient(
  ctx: Context,
  res: ServerResponse,
  route: CompiledRoute,
  rt: Runtime,
  upstream: Upstream,
  stack: RouteStack,
  path: string,
  headers: string[],
  size: number | undefined,
): Promise<void> {
  const req = ctx.req;
  let body: Buffer | Readable | null = null;
  let policy = stack.once;
  const repeatable = IDEMPOTENT.has(ctx.method) || req.headers['idempotency-key'] !== undefined;
  const chunked = size === undefined && req.headers['transfer-encoding'] !== undefined;
  if (stack.retry && repeatable && !chunked && (size ?? 0) <= stack.retry.bufferBytes) {
    policy = stack.policy;
    if (size !== undefined && size > 0) body = await readBody(req, size);
  } else if (chunked) {
    body = chunkedBody(ctx, route);
  } else if (size !== undefined && size > 0) {
    body = req;
  }
  let gone = false;
  let current: Exchange | undefined;
  // A pacer may hold the call for its slot: leaving, or the deadline, must give the place back.
  const waiting = stack.paced ? new AbortController() : undefined;
  ctx.onClose = () => {
    if (!res.writableFinished) {
      gone = true;
      current?.onClientClose();
      waiting?.abort(new Error('client closed the connection'));
    }
  };
  const deadlineAt = stack.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + stack.timeoutMs;
  const deadline =
    waiting && stack.timeoutMs !== undefined
      ? setTimeout(() => waiting.abort(deadlineExceeded(stack.timeoutMs!)), stack.timeoutMs)
      : undefined;
  // The pacer refuses at once a slot that would come after the deadline.
  if (deadline !== undefined) withDeadline(waiting!.signal, deadlineAt);
  let chosen: Exchange;
  try {
    chosen = await policy.execute(() => {
      if (gone) return Promise.reject(new Error('client closed the connection'));
      const left = deadlineAt - Date.now();
      if (left <= 0) return Promise.reject(deadlineExceeded(stack.timeoutMs!));
      const perTry = stack.perTryTimeoutMs ?? Number.POSITIVE_INFINITY;
      const byDeadline = left < perTry;
      const target = pick(ctx, upstream);
      const exchange = new Exchange(ctx, res, route, rt, upstream, target, true);
      current = exchange;
      upstream.sent(target);
      const limit = Math.min(perTry, left);
      dispatch(
        target,
        exchange,
        ctx,
        path,
        headers,
        body,
        Number.isFinite(limit) ? Math.ceil(limit) : undefined,
      );
      // The headers timer that fired was the deadline's, not one try's: say so.
      return byDeadline
        ? exchange.head!.catch((err: unknown) => {
            throw (err as { code?: string }).code === UpstreamTimeout.code
              ? deadlineExceeded(stack.timeoutMs!)
              : err;
          })
        : exchange.head!;
    }, waiting?.signal);
  } catch (err) {
    if (gone) return; // the client left; nobody to answer
    answerError(ctx, res, route, rt, transportError(err, upstream.name));
    return;
  } finally {
    clearTimeout(deadline);
  }
  ctx.target = chosen.target.origin;
  chosen.commit();
}

function deadlineExceeded(ms: number): JunctionError {
  return new JunctionError(DeadlineExceeded, `no response headers within ${ms} ms`, {
    extensions: { timeoutMs: ms },
  });
}

/** The request body, kept so that a retry can send it again (bounded by `retry.bufferBytes`). */
async function readBody(req: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of req) {
    got += (chunk as Buffer).length;
    if (got > size) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, Math.min(got, size));
}

/** The path and query sent upstream: API version prefix removed, then `stripPrefix`/`addPrefix`. */
export function upstreamPath(ctx: Context, options: Omit<ProxyOptions, 'upstream'>): string {
  let path = ctx.path;
  if (ctx.versionPrefix !== undefined) path = path.slice(ctx.versionPrefix.length) || '/';
  if (options.stripPrefix !== undefined && path.startsWith(options.stripPrefix)) {
    path = path.slice(options.stripPrefix.length);
    if (path === '' || path[0] !== '/') path = `/${path}`;
  }
  if (options.addPrefix !== undefined) path = options.addPrefix.replace(/\/$/, '') + path;
  return path + ctx.query;
}

function byteLimit(max: number, ctx: Context): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      ctx.bytesIn += chunk.length;
      if (ctx.bytesIn > max) cb(new JunctionError(PayloadTooLarge, `body exceeds the limit of ${max} bytes`));
      else cb(null, chunk);
    },
  });
}
