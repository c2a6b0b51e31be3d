/**
 * `core.access-log`: one structured line per request, written after the response finished or the
 * client left, carrying the request id and trace id so logs and traces join up (Q26).
 *
 * The line has pino's shape and goes to the access logger's own destination, but is serialized here
 * rather than by `logger.info(obj)`: the fields are a fixed set, and pino's generic path (bindings,
 * hooks, per-key serialization) was the largest single cost of an observed route in the benchmark
 * (docs/benchmarks.md). Every value that can come from a client goes through JSON.stringify, so a
 * path or forwarded address cannot break out of its string.
 */
import { pino } from 'pino';
import Type from 'typebox';
import { isoTimeField } from '../../../core/logger.ts';
import { definePolicy } from '../../../core/policy.ts';

export const accessLog = definePolicy({
  name: 'core.access-log',
  description: 'JSON access log line per request, with request and trace ids',
  schema: Type.Object(
    {
      level: Type.Union([Type.Literal('info'), Type.Literal('debug')], { default: 'info' }),
      query: Type.Boolean({ default: false, description: 'Log the query string (may hold personal data)' }),
    },
    { additionalProperties: false },
  ),
  create(config, env) {
    const { services } = env;
    const logger = services.accessLogger;
    const stream = (logger as unknown as Record<symbol, { write(line: string): void }>)[
      pino.symbols.streamSym
    ]!;
    const levelField = `{"level":"${config.level}"`;
    const route = JSON.stringify(env.routeName);
    const known = new Map<string | undefined, string>();
    // Upstream names and origins come from config: serialize each once.
    const quoted = (v: string | undefined) => {
      let q = known.get(v);
      if (q === undefined) {
        q = v === undefined ? '' : JSON.stringify(v);
        known.set(v, q);
      }
      return q;
    };
    return {
      onLog(ctx, entry) {
        if (!logger.isLevelEnabled(config.level)) return;
        let line = `${levelField}${isoTimeField()},"service":"junction","node":${services.ids.nodeId},"route":${route},"requestId":"${ctx.id}"`;
        if (ctx.trace !== undefined) line += `,"traceId":"${ctx.trace.traceId}"`;
        line += `,"method":${JSON.stringify(ctx.method)},"path":${JSON.stringify(config.query ? ctx.path + ctx.query : ctx.path)}`;
        line += `,"status":${entry.status},"durationMs":${Math.round(entry.durationMs * 1000) / 1000}`;
        if (entry.upstream !== undefined) line += `,"upstream":${quoted(entry.upstream)}`;
        if (entry.target !== undefined) line += `,"target":${quoted(entry.target)}`;
        line += `,"bytesIn":${entry.bytesIn},"bytesOut":${entry.bytesOut},"clientIp":${JSON.stringify(ctx.clientIp)}`;
        if (ctx.version !== undefined) line += `,"version":${JSON.stringify(ctx.version)}`;
        if (entry.errorCode !== undefined) line += `,"errorCode":${JSON.stringify(entry.errorCode)}`;
        if (entry.aborted) line += ',"aborted":true';
        stream.write(`${line},"msg":"request"}\n`);
      },
    };
  },
});
