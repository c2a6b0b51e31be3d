/**
 * Span export (Q26). Ids and propagation are ours (`trace-context.ts`); when an OTLP endpoint is
 * configured, each request's server span is also recorded with the OpenTelemetry SDK and exported in
 * batches over OTLP/HTTP, with the ids we already propagated.
 */
import { context, createTraceState, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { TraceInfo } from './policy.ts';

export interface SpanExportOptions {
  endpoint: string;
  headers?: Record<string, string>;
  serviceName: string;
  /** Flush interval of the batch processor. */
  scheduledDelayMs?: number;
}

export interface SpanRecord {
  name: string;
  startTime: number; // epoch ms
  endTime: number;
  attributes: Record<string, string | number | boolean>;
  error: boolean;
}

export interface SpanExporter {
  export(trace: TraceInfo, span: SpanRecord): void;
  shutdown(): Promise<void>;
}

/**
 * The SDK must use the span id we already sent upstream; an IdGenerator that hands out the next
 * queued id does that without reimplementing spans.
 */
class GivenIdGenerator implements IdGenerator {
  next: TraceInfo | undefined;
  generateTraceId(): string {
    return this.next!.traceId;
  }
  generateSpanId(): string {
    return this.next!.spanId;
  }
}

export function createSpanExporter(options: SpanExportOptions): SpanExporter {
  const ids = new GivenIdGenerator();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    idGenerator: ids,
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: options.endpoint, headers: options.headers }), {
        scheduledDelayMillis: options.scheduledDelayMs ?? 1000,
      }),
    ],
  });
  const tracer = provider.getTracer('junction');
  return {
    export(info, record) {
      let parent = context.active();
      if (info.parentSpanId !== undefined) {
        parent = trace.setSpanContext(parent, {
          traceId: info.traceId,
          spanId: info.parentSpanId,
          traceFlags: info.sampled ? 1 : 0,
          isRemote: true,
          traceState: info.tracestate ? createTraceState(info.tracestate) : undefined,
        });
      }
      ids.next = info;
      const span: Span = tracer.startSpan(
        record.name,
        { kind: SpanKind.SERVER, startTime: record.startTime, attributes: record.attributes },
        parent,
      );
      ids.next = undefined;
      if (record.error) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(record.endTime);
    },
    shutdown: () => provider.shutdown(),
  };
}
