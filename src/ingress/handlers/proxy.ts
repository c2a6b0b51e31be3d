/**
 * The `proxy` handler (Q37): relays the request to one target of an upstream and streams the answer
 * back, with backpressure both ways and no buffering — a 1 GiB body costs no more memory than a
 * small one. Built on undici's `dispatch` handler interface rather than `request()`: the response
 * goes straight from the upstream socket into the client's, without an intermediate stream.
 */
import type { ServerResponse } from 'node:http';
import { Readable, Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import { JunctionError, PayloadTooLarge } from '../../core/errors.ts';
import type { UpstreamResponse } from '../../core/policy.ts';
import type { Context } from '../context.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from '../forwarding.ts';
import type { CompiledRoute, Handler } from '../route.ts';
import type { Runtime } from '../runtime.ts';
import { runOnResponse, sendProblem, writeUpstreamResponse } from '../send.ts';
import { NoHealthyTarget } from '../errors.ts';
import { transportError } from '../transport-errors.ts';
import type { Upstream } from '../upstreams.ts';

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
      const handler = new ProxyDispatch(ctx, res, route, rt, upstream);
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

/**
 * One proxied exchange, as an undici dispatch handler. With no `onResponse` policies the body is
 * written chunk by chunk into the client response, pausing the upstream when the client is slow
 * (`write()` returns false) and resuming on `drain`. With policies, the body becomes a Readable that
 * the policies may wrap or replace.
 */
class ProxyDispatch implements Dispatcher.DispatchHandler {
  readonly #ctx: Context;
  readonly #res: ServerResponse;
  readonly #route: CompiledRoute;
  readonly #rt: Runtime;
  readonly #upstream: Upstream;
  #controller: Dispatcher.DispatchController | undefined;
  #stream: Readable | undefined;
  #started = false;
  /** Body bytes still to come when the upstream sent Content-Length; NaN when it did not. */
  #remaining = Number.NaN;
  #ended = false;

  constructor(ctx: Context, res: ServerResponse, route: CompiledRoute, rt: Runtime, upstream: Upstream) {
    this.#ctx = ctx;
    this.#res = res;
    this.#route = route;
    this.#rt = rt;
    this.#upstream = upstream;
  }

  /** The client went away: stop the upstream exchange too (frees the pooled connection). */
  readonly onClientClose = (): void => {
    if (!this.#res.writableFinished) this.#controller?.abort(new Error('client closed the connection'));
  };

  readonly #onDrain = (): void => {
    this.#controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) {
      this.#interim(statusCode, headers);
      return;
    }
    this.#started = true;
    const ctx = this.#ctx;
    if (this.#route.onResponse.length === 0) {
      const out = clientResponseHeaders(headers, ctx.responseHeaders, ctx.id, this.#rt.forwarding);
      this.#res.writeHead(statusCode, out);
      const length = headers['content-length'];
      if (typeof length === 'string' && ctx.method !== 'HEAD') this.#remaining = Number(length);
      return;
    }
    const stream = new Readable({ read: () => controller.resume() });
    this.#stream = stream;
    const response: UpstreamResponse = {
      status: statusCode,
      headers: headers as UpstreamResponse['headers'],
      body: stream,
    };
    runOnResponse(ctx, this.#route, response).then(
      (final) => writeUpstreamResponse(ctx, this.#res, final, this.#rt),
      (err) => {
        controller.abort(err);
        sendProblem(ctx, this.#res, err, this.#rt);
      },
    );
  }

  /**
   * undici reports interim responses through `onResponseStart` too. A proxy forwards 1xx (RFC 9110
   * §15.2), but never to an HTTP/1.0 client; Node can write 103 Early Hints (RFC 8297), so that one
   * is relayed and the others (102 is obsolete) are dropped. Either way the final response follows.
   */
  #interim(statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    const { req } = this.#ctx;
    if (statusCode !== 103 || headers.link === undefined || req.httpVersionMinor === 0) return;
    if (this.#res.headersSent || this.#res.destroyed) return;
    try {
      this.#res.writeEarlyHints({ link: headers.link });
    } catch {
      // A Link value Node will not write is only a lost hint, not a failed request.
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#stream !== undefined) {
      // Counted where the policies' final body is written (send.ts), which may differ in size.
      if (!this.#stream.push(chunk)) controller.pause();
      return;
    }
    this.#ctx.bytesOut += chunk.length;
    this.#remaining -= chunk.length;
    if (this.#remaining === 0) {
      // The last chunk of a known length (most small responses are one chunk): `end(chunk)` lets
      // Node send headers, body and end in one go instead of a write and then an end.
      this.#ended = true;
      this.#res.end(chunk);
      return;
    }
    if (!this.#res.write(chunk)) {
      controller.pause();
      // Listen only while paused: most responses never fill the socket buffer.
      this.#res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    if (this.#ended) return; // already ended with the last chunk
    this.#res.off('drain', this.#onDrain);
    if (this.#stream !== undefined) this.#stream.push(null);
    else this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#res.off('drain', this.#onDrain);
    const ctx = this.#ctx;
    if (this.#res.destroyed) return; // the client left first; nothing to tell it
    const mapped = transportError(err, this.#upstream.name);
    ctx.errorCode = mapped.code;
    this.#rt.services.metrics.upstreamErrors
      .labels({ upstream: this.#upstream.name, code: mapped.code })
      .inc();
    if (this.#stream !== undefined) {
      this.#stream.destroy(mapped);
    } else if (this.#started || this.#res.headersSent) {
      // Status and part of the body are already out: all a proxy can do is cut the connection so the
      // client sees a truncated message rather than a complete-looking one (RFC 9112 §8).
      this.#res.destroy(mapped);
    } else {
      this.#ctx.req.unpipe();
      sendProblem(ctx, this.#res, mapped, this.#rt);
    }
  }
}
