/**
 * `core.tracing` (Q26): W3C Trace Context. The incoming `traceparent` is continued (or a trace is
 * started when there is none or it is invalid), the gateway's own span gets a new span id, and that
 * id goes upstream as the parent; `tracestate` passes through unchanged (W3C §3.3: a vendor that did
 * not add an entry must not alter it). Spans are exported over OTLP when configured.
 */
import Type from 'typebox';
import { definePolicy } from '../../../core/policy.ts';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from '../../../core/trace-context.ts';

export const tracing = definePolicy({
  name: 'core.tracing',
  description: 'W3C traceparent propagation with a new span id per hop; OTLP export when configured',
  schema: Type.Object(
    {
      sampleRatio: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 1,
        description: 'Share of new traces sampled',
      }),
    },
    { additionalProperties: false },
  ),
  create(config, env) {
    const spans = env.services.spans;
    return {
      onRequest(ctx) {
        const header = ctx.headers.traceparent;
        const incoming = parseTraceparent(Array.isArray(header) ? undefined : header);
        const spanId = newSpanId();
        // A sampled parent's decision is kept; a new trace is sampled by ratio (W3C §3.3.1.3.1).
        const sampled = incoming ? (incoming.flags & 1) === 1 : Math.random() < config.sampleRatio;
        const state = ctx.headers.tracestate;
        ctx.trace = {
          traceId: incoming?.traceId ?? newTraceId(),
          spanId,
          parentSpanId: incoming?.parentId,
          sampled,
          tracestate: incoming && typeof state === 'string' ? state : undefined,
        };
        const flags = incoming ? incoming.flags : sampled ? 1 : 0;
        ctx.upstreamHeaders.traceparent = formatTraceparent(ctx.trace.traceId, spanId, flags);
        // Without a valid parent, an incoming tracestate belongs to no trace we continue (W3C §3.3.2).
        if (!incoming && ctx.headers.tracestate !== undefined) ctx.upstreamHeaders.tracestate = '';
        return undefined;
      },
      onLog(ctx, entry) {
        if (spans === undefined || ctx.trace === undefined || !ctx.trace.sampled) return;
        const end = Date.now();
        spans.export(ctx.trace, {
          name: `${ctx.method} ${env.routeName}`,
          startTime: end - entry.durationMs,
          endTime: end,
          error: entry.status >= 500,
          attributes: {
            'http.request.method': ctx.method,
            'url.path': ctx.path,
            'http.route': env.routeName,
            'http.response.status_code': entry.status,
            'junction.request_id': ctx.id,
            ...(entry.upstream ? { 'junction.upstream': entry.upstream } : {}),
            ...(entry.target ? { 'server.address': entry.target } : {}),
          },
        });
      },
    };
  },
});
