/**
 * What every part of a running gateway shares: built once per process (or per test), passed down
 * explicitly. Nothing here holds request state (Q28: a node keeps nothing a request needs).
 */
import type { AuditSink } from './audit.ts';
import type { Snowflake } from './ids.ts';
import type { Logger } from './logger.ts';
import type { CoreMetrics } from './metrics.ts';
import type { SpanExporter } from './tracing.ts';

export interface Services {
  logger: Logger;
  /** Same destination as `logger`, without redaction: for the access log's fixed, secret-free fields. */
  accessLogger: Logger;
  metrics: CoreMetrics;
  ids: Snowflake;
  /** Security-relevant actions go here (Q50); `noAudit` where nothing is stored. */
  audit: AuditSink;
  /** Redis for shared state in a cluster (`redis.url` or JUNCTION_REDIS_URL); policies with a Redis backend use it unless they name their own. */
  redisUrl: string | undefined;
  /** Present when OTLP export is configured. */
  spans: SpanExporter | undefined;
}
