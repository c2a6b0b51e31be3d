/**
 * Writing answers. Handlers and policies never touch the socket (STYLE.md §3): they return an
 * `Answer`, throw a `JunctionError`, or hand an `UpstreamResponse` to `writeUpstreamResponse`.
 */
import type { ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import { Internal, isJunctionError, JunctionError, NotAcceptable } from '../core/errors.ts';
import { dataFormat } from '../core/negotiate.ts';
import type { Answer, UpstreamResponse } from '../core/policy.ts';
import { problemResponse } from '../core/problem.ts';
import { toXml } from '../core/xml.ts';
import type { Context } from './context.ts';
import { clientResponseHeaders } from './forwarding.ts';
import type { CompiledRoute } from './route.ts';
import type { Runtime } from './runtime.ts';

/** Answers with a problem document (Q29: JSON, or XML when preferred); cuts the connection if too late. */
export function sendProblem(ctx: Context, res: ServerResponse, err: unknown, rt: Runtime): void {
  const known = isJunctionError(err);
  // The code the client is answered with (anything unknown is an opaque 500 in problem.ts), and
  // the unknown error itself in the log, where the bug can be found without leaking it (CWE-209).
  ctx.errorCode = known ? err.code : Internal.code;
  if (!known || err.code === Internal.code) {
    rt.services.logger.error({ err, requestId: ctx.id }, 'request failed');
  }
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const { status, headers, body } = problemResponse(err, ctx.headers.accept, ctx.id, ctx.path);
  const out: Record<string, string> = {
    ...ctx.responseHeaders,
    ...headers,
    [rt.forwarding.requestIdHeader]: ctx.id,
  };
  const payload = Buffer.from(body);
  out['content-length'] = String(payload.length);
  ctx.bytesOut += payload.length;
  res.writeHead(status, out);
  res.end(ctx.method === 'HEAD' ? undefined : payload);
}

/** Writes an Answer from a policy or the `respond` handler; object bodies are negotiated JSON/XML. */
export function sendAnswer(ctx: Context, res: ServerResponse, answer: Answer, rt: Runtime): void {
  const headers: Record<string, string | string[]> = { ...answer.headers };
  let body = answer.body;
  if (
    body !== null &&
    body !== undefined &&
    typeof body === 'object' &&
    !Buffer.isBuffer(body) &&
    !isStream(body)
  ) {
    const format = dataFormat(ctx.headers.accept);
    if (format === undefined) {
      throw new JunctionError(
        NotAcceptable,
        'this resource is available as application/json or application/xml',
        {
          extensions: { available: ['application/json', 'application/xml'] },
        },
      );
    }
    body = format === 'xml' ? toXml(body, 'response') : JSON.stringify(body);
    headers['content-type'] =
      format === 'xml' ? 'application/xml; charset=utf-8' : 'application/json; charset=utf-8';
    headers.vary = 'accept';
  }
  const out = clientResponseHeaders(headers, ctx.responseHeaders, ctx.id, rt.forwarding);
  if (isStream(body)) {
    res.writeHead(answer.status, out);
    pipeCounting(ctx, body, res);
    return;
  }
  const payload =
    body === null || body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  if (payload !== undefined && !('content-length' in headers))
    out.push('content-length', String(payload.length));
  ctx.bytesOut += payload?.length ?? 0;
  res.writeHead(answer.status, out);
  res.end(ctx.method === 'HEAD' ? undefined : payload);
}

/** Runs the route's `onResponse` policies in order, each seeing the previous one's result. */
export async function runOnResponse(
  ctx: Context,
  route: CompiledRoute,
  res: UpstreamResponse,
): Promise<UpstreamResponse> {
  let current = res;
  for (const p of route.onResponse) {
    if (p.wantsResponse === undefined || p.wantsResponse(ctx)) current = await p.onResponse!(ctx, current);
  }
  return current;
}

/** Whether any `onResponse` policy of the route has work for this request (Policy.wantsResponse). */
export function wantsResponse(ctx: Context, route: CompiledRoute): boolean {
  for (const p of route.onResponse) if (p.wantsResponse === undefined || p.wantsResponse(ctx)) return true;
  return false;
}

/**
 * An upstream call ended without a response (refused, reset, timed out, circuit open). Routes with
 * `onResponse` policies get to see it as the problem response it would be, marked with `error`, so
 * that a cache can answer stale-if-error (RFC 5861 §4); otherwise the problem goes out as it is.
 */
export function answerError(
  ctx: Context,
  res: ServerResponse,
  route: CompiledRoute,
  rt: Runtime,
  err: JunctionError,
): void {
  ctx.errorCode = err.code;
  if (res.headersSent || !wantsResponse(ctx, route)) {
    sendProblem(ctx, res, err, rt);
    return;
  }
  const { status, headers, body } = problemResponse(err, ctx.headers.accept, ctx.id, ctx.path);
  const problem: UpstreamResponse = { status, headers, body: Readable.from([Buffer.from(body)]), error: err };
  runOnResponse(ctx, route, problem).then(
    (final) => {
      if (final.error === undefined) ctx.errorCode = undefined;
      writeUpstreamResponse(ctx, res, final, rt);
    },
    (e: unknown) => sendProblem(ctx, res, e, rt),
  );
}

export function writeUpstreamResponse(
  ctx: Context,
  res: ServerResponse,
  up: UpstreamResponse,
  rt: Runtime,
): void {
  if (res.destroyed) {
    up.body?.destroy();
    return;
  }
  res.writeHead(up.status, clientResponseHeaders(up.headers, ctx.responseHeaders, ctx.id, rt.forwarding));
  if (up.body === null) res.end();
  else pipeCounting(ctx, up.body, res);
}

function pipeCounting(ctx: Context, body: NodeJS.ReadableStream, res: ServerResponse): void {
  body.on('data', (c: Buffer) => (ctx.bytesOut += c.length));
  pipeline(body, res, (err) => {
    if (err && !res.destroyed) res.destroy(err);
  });
}

function isStream(v: unknown): v is NodeJS.ReadableStream {
  return typeof v === 'object' && v !== null && typeof (v as { pipe?: unknown }).pipe === 'function';
}
