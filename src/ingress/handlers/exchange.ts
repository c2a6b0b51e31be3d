/**
 * One request/response exchange with one upstream target, as an undici dispatch handler.
 *
 * Two modes:
 * - **direct**: the response head is written to the client as soon as it arrives and the body is
 *   streamed through chunk by chunk, pausing the upstream while the client's socket is full
 *   (`write()` returns false) and resuming on `drain`. No promise, no intermediate stream.
 * - **deferred**: for resilience policies, which must see the status before the client does (a
 *   retried 503 must never reach it). The head resolves `head`, the upstream is paused, and nothing
 *   reaches the client until `commit()`; `discard()` aborts the attempt instead.
 *
 * With `onResponse` policies the body becomes a Readable that the policies may wrap or replace.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { JunctionError } from '../../core/errors.ts';
import type { UpstreamResponse } from '../../core/policy.ts';
import type { Context } from '../context.ts';
import { clientResponseHeaders } from '../forwarding.ts';
import type { CompiledRoute } from '../route.ts';
import type { Runtime } from '../runtime.ts';
import { answerError, runOnResponse, sendProblem, wantsResponse, writeUpstreamResponse } from '../send.ts';
import { transportError } from '../transport-errors.ts';
import type { Target, Upstream } from '../upstreams.ts';

type Headers = Record<string, string | string[] | undefined>;

/** Body bytes a deferred exchange holds before pausing the upstream. */
const HOLD_BYTES = 65_536;

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #ctx: Context;
  readonly #res: ServerResponse;
  readonly #route: CompiledRoute;
  readonly #rt: Runtime;
  readonly #upstream: Upstream;
  readonly target: Target;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: Error | undefined;
  #stream: Readable | undefined;
  /** The client has (or will have) this exchange's status line. */
  #committed: boolean;
  #reported = false;
  /** Body bytes still to come when the upstream sent Content-Length; NaN when it did not. */
  #remaining = Number.NaN;
  #ended = false;
  /** deferred mode: the head and what arrived before `commit()`. */
  status = 0;
  headers: Headers = {};
  #held: Buffer[] | undefined;
  #heldBytes = 0;
  #paused = false;
  #upstreamDone = false;
  #settle: { resolve(ex: Exchange): void; reject(err: JunctionError): void } | undefined;
  readonly head: Promise<Exchange> | undefined;

  constructor(
    ctx: Context,
    res: ServerResponse,
    route: CompiledRoute,
    rt: Runtime,
    upstream: Upstream,
    target: Target,
    deferred: boolean,
  ) {
    this.#ctx = ctx;
    this.#res = res;
    this.#route = route;
    this.#rt = rt;
    this.#upstream = upstream;
    this.target = target;
    this.#committed = !deferred;
    if (deferred) {
      this.head = new Promise((resolve, reject) => {
        this.#settle = { resolve, reject };
      });
    }
  }

  /** The client went away: stop the upstream exchange too (frees the pooled connection). */
  readonly onClientClose = (): void => {
    if (!this.#res.writableFinished) this.abort(new Error('client closed the connection'));
  };

  /** Stops the exchange (client gone, timeout, retry); safe before the request has started. */
  abort(reason: Error): void {
    if (this.#controller) this.#controller.abort(reason);
    else this.#abortReason = reason;
  }

  /** deferred: a failed attempt the policies will not use; frees the connection. */
  discard(failed: boolean): void {
    this.#report(failed);
    if (!this.#upstreamDone) this.abort(new Error('attempt discarded'));
  }

  /** deferred: this attempt's response goes to the client. */
  commit(): void {
    this.#committed = true;
    this.#start(this.status, this.headers);
    const held = this.#held;
    this.#held = undefined;
    if (held) for (const chunk of held) this.#data(chunk);
    if (this.#upstreamDone) this.#end();
    else if (this.#paused) this.#controller?.resume();
  }

  readonly #onDrain = (): void => {
    this.#controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
    else if (this.#res.destroyed) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    if (statusCode < 200) {
      if (this.#committed) this.#interim(statusCode, headers);
      return;
    }
    if (!this.#committed) {
      this.status = statusCode;
      this.headers = headers;
      this.#settle!.resolve(this);
      return;
    }
    this.status = statusCode;
    this.#start(statusCode, headers);
  }

  #start(statusCode: number, headers: Headers): void {
    const ctx = this.#ctx;
    if (!wantsResponse(ctx, this.#route)) {
      const out = clientResponseHeaders(headers, ctx.responseHeaders, ctx.id, this.#rt.forwarding);
      this.#res.writeHead(statusCode, out);
      const length = headers['content-length'];
      if (typeof length === 'string' && ctx.method !== 'HEAD') this.#remaining = Number(length);
      return;
    }
    const stream = new Readable({ read: () => this.#controller?.resume() });
    this.#stream = stream;
    const response: UpstreamResponse = {
      status: statusCode,
      headers: headers as UpstreamResponse['headers'],
      body: stream,
    };
    runOnResponse(ctx, this.#route, response).then(
      (final) => writeUpstreamResponse(ctx, this.#res, final, this.#rt),
      (err) => {
        this.abort(err as Error);
        sendProblem(ctx, this.#res, err, this.#rt);
      },
    );
  }

  /**
   * undici reports interim responses through `onResponseStart` too. A proxy forwards 1xx (RFC 9110
   * §15.2), but never to an HTTP/1.0 client; Node can write 103 Early Hints (RFC 8297), so that one
   * is relayed and the others (102 is obsolete) are dropped. Either way the final response follows.
   */
  #interim(statusCode: number, headers: Headers): void {
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
    if (!this.#committed) {
      // Held until the policies decide. Small bodies (most) arrive whole meanwhile; past 64 KiB the
      // upstream is paused, so a large body waits in its socket, not in memory. Not pausing at the
      // head saves a pause/resume round per response.
      if (this.#held === undefined) this.#held = [];
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      if (this.#heldBytes > HOLD_BYTES) {
        controller.pause();
        this.#paused = true;
      }
      return;
    }
    if (!this.#data(chunk)) {
      controller.pause();
      // Listen only while paused: most responses never fill the socket buffer.
      this.#res.once('drain', this.#onDrain);
    }
  }

  /** Returns false when the client's socket is full. */
  #data(chunk: Buffer): boolean {
    if (this.#stream !== undefined) {
      // Counted where the policies' final body is written (send.ts), which may differ in size.
      return this.#stream.push(chunk);
    }
    this.#ctx.bytesOut += chunk.length;
    this.#remaining -= chunk.length;
    if (this.#remaining === 0) {
      // The last chunk of a known length (most small responses are one chunk): `end(chunk)` lets
      // Node send headers, body and end in one go instead of a write and then an end.
      this.#ended = true;
      this.#res.end(chunk);
      return true;
    }
    return this.#res.write(chunk);
  }

  onResponseEnd(): void {
    this.#upstreamDone = true;
    this.#report(this.status >= 500);
    if (this.#committed) this.#end();
  }

  #end(): void {
    if (this.#ended) return; // already ended with the last chunk
    this.#ended = true;
    this.#res.off('drain', this.#onDrain);
    if (this.#stream !== undefined) this.#stream.push(null);
    else this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#upstreamDone = true;
    this.#res.off('drain', this.#onDrain);
    const ctx = this.#ctx;
    const clientGone = this.#res.destroyed;
    this.#report(!clientGone);
    const mapped = transportError(err, this.#upstream.name);
    if (!this.#committed) {
      // Before the head: the policies judge it (retry, breaker) and answer in the end.
      if (this.#settle && this.status === 0) this.#settle.reject(mapped);
      return;
    }
    if (clientGone) return; // the client left first; nothing to tell it
    ctx.errorCode = mapped.code;
    this.#rt.services.metrics.upstreamErrors
      .labels({ upstream: this.#upstream.name, code: mapped.code })
      .inc();
    if (this.#stream !== undefined) {
      this.#stream.destroy(mapped);
    } else if (this.status !== 0 || this.#res.headersSent) {
      // Status and part of the body are already out: all a proxy can do is cut the connection so the
      // client sees a truncated message rather than a complete-looking one (RFC 9112 §8).
      this.#res.destroy(mapped);
    } else {
      ctx.req.unpipe();
      answerError(ctx, this.#res, this.#route, this.#rt, mapped);
    }
  }

  /** Tells the upstream once how this exchange went (passive health, in-flight count). */
  #report(failed: boolean): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#upstream.done(this.target, failed);
  }
}
