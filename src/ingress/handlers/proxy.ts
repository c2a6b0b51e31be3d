/**
 * The `proxy` handler (Q37): relays the request to one target of an upstream and streams the answer
 * back, with backpressure both ways and no buffering — a 1 GiB body costs no more memory than a
 * small one. Built on undici's `dispatch` handler interface rather than `request()`: the response
 * goes straight from the upstream socket into the client's, without an intermediate stream.
 */
import { type Readable, Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import { JunctionError, PayloadTooLarge } from '../../core/errors.ts';
import type { Context } from '../context.ts';
import { NoHealthyTarget } from '../errors.ts';
import { upstreamRequestHeaders } from '../forwarding.ts';
import type { Handler } from '../route.ts';
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
      const upstream = rt.upstreams.get(options.upstream)!;
      const picked = upstream.pick(ctx);
      if (picked === undefined) {
        throw new JunctionError(NoHealthyTarget, `every target of ${upstream.name} is unhealthy`);
      }
      const target = picked.target;
      if (picked.setCookie !== undefined) ctx.responseHeaders['set-cookie'] = picked.setCookie;
      ctx.upstream = upstream.name;
      ctx.target = target.origin;
      const req = ctx.req;
      let body: Readable | null = null;
      const length = req.headers['content-length'];
      if (length !== undefined) {
        const n = Number(length);
        if (n > route.maxBodyBytes) {
          throw new JunctionError(
            PayloadTooLarge,
            `body of ${n} bytes exceeds the limit of ${route.maxBodyBytes}`,
          );
        }
        ctx.bytesIn = n;
        if (n > 0) body = req;
      } else if (req.headers['transfer-encoding'] !== undefined) {
        // Chunked: the size is only known as it arrives, so count on the way through.
        body = req.pipe(byteLimit(route.maxBodyBytes, ctx));
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
      upstream.sent(target);
      const handler = new Exchange(ctx, res, route, rt, upstream, target, false);
      ctx.onClose = handler.onClientClose;
      target.pool.dispatch(
        {
          origin: target.origin,
          path: upstreamPath(ctx, options),
          method: ctx.method as Dispatcher.HttpMethod,
          headers,
          body,
          // RFC 9110 §9.2.2: retrying is for resilience policies to decide, not the transport.
          idempotent: false,
        },
        handler,
      );
    },
  };
}

/** The path and query sent upstream: API version prefix removed, then `stripPrefix`/`addPrefix`. */
export function upstreamPath(ctx: Context, options: ProxyOptions): string {
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
