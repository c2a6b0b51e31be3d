/**
 * `core.access-log`: one structured line per request (pino), written after the response finished
 * or the client left, carrying the request id and trace id so logs and traces join up (Q26).
 */
import Type from 'typebox';
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
    const log = env.services.accessLogger.child({ route: env.routeName });
    const write = config.level === 'debug' ? log.debug.bind(log) : log.info.bind(log);
    return {
      onLog(ctx, entry) {
        write(
          {
            requestId: ctx.id,
            traceId: ctx.trace?.traceId,
            method: ctx.method,
            path: config.query ? ctx.path + ctx.query : ctx.path,
            status: entry.status,
            durationMs: Math.round(entry.durationMs * 1000) / 1000,
            upstream: entry.upstream,
            target: entry.target,
            bytesIn: entry.bytesIn,
            bytesOut: entry.bytesOut,
            clientIp: ctx.clientIp,
            version: ctx.version,
            errorCode: entry.errorCode,
            aborted: entry.aborted || undefined,
          },
          'request',
        );
      },
    };
  },
});
