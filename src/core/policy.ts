/**
 * One policy anatomy for every capability (DESIGN.md "Shape", STYLE.md §2): a stable dotted name, a
 * TypeBox schema whose defaults are the policy's defaults, and a `create` that runs once per route
 * when the config compiles. The returned `Policy` implements any of the phases in `phases.ts`.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Static, TSchema } from 'typebox';
import type { JunctionError } from './errors.ts';
import type { Services } from './services.ts';

/**
 * Slots that policies write on the context, declared by each policy through declaration merging
 * (Hono's ContextVariableMap, STYLE.md §8):
 *
 * @example
 * declare module '../../core/policy.ts' { interface ContextSlots { principal: Principal } }
 * ctx.slots.principal = p;
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in each policy.
export interface ContextSlots {}

/** W3C Trace Context of the gateway's own span for this request (Q26). */
export interface TraceInfo {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  sampled: boolean;
  tracestate: string | undefined;
}

export interface RequestContext {
  /** Snowflake request id, `req_…`; in every log line, problem document and the `x-request-id` headers. */
  readonly id: string;
  readonly req: IncomingMessage;
  readonly method: string;
  /** Path without the query string, as received (percent-encoding kept). */
  readonly path: string;
  /** Query string including its `?`, or the empty string. */
  readonly query: string;
  readonly host: string;
  readonly headers: IncomingHttpHeaders;
  readonly clientIp: string;
  readonly protocol: 'http' | 'https';
  readonly routeName: string;
  readonly params: Readonly<Record<string, string>>;
  /** API version the request resolved to (Q6), when the route is versioned. */
  readonly version: string | undefined;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** Extra headers for the upstream request; set by policies in `onRequest`. */
  readonly upstreamHeaders: Record<string, string>;
  /** Extra headers for the client response; applied to every answer, including errors. */
  readonly responseHeaders: Record<string, string>;
  trace: TraceInfo | undefined;
  readonly slots: Partial<ContextSlots>;
}

/** An answer a policy or handler gives instead of (or before) calling an upstream. */
export interface Answer {
  status: number;
  headers?: Record<string, string | string[]>;
  /** Objects are sent as JSON (or XML when negotiated); streams are piped with backpressure. */
  body?: string | Buffer | Readable | Record<string, unknown> | unknown[] | null;
}

/** What a handler produced, as `onResponse` policies see it; the body is still a stream. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Readable | null;
  /**
   * Set when no response came from the upstream (refused, reset, timed out, circuit open): the
   * status, headers and body are then the problem document the gateway would send, and an
   * `onResponse` policy may replace it (a cache serving stale-if-error, RFC 5861 §4).
   */
  error?: JunctionError;
}

export interface AccessEntry {
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  upstream: string | undefined;
  target: string | undefined;
  /** Stable error code when the gateway answered with a problem, or the transport error's code. */
  errorCode: string | undefined;
  /** True when the client went away before the response finished. */
  aborted: boolean;
}

export type Awaitable<T> = T | Promise<T>;

export interface Policy {
  onRequest?(ctx: RequestContext): Awaitable<Answer | undefined>;
  onResponse?(ctx: RequestContext, res: UpstreamResponse): Awaitable<UpstreamResponse>;
  /**
   * Whether `onResponse` has work for this request; without it, always. When no policy of a route
   * wants a request's response, the upstream's is written straight through, without the stream and
   * promise `onResponse` costs (an idempotency policy on a POST without a key costs nothing then).
   */
  wantsResponse?(ctx: RequestContext): boolean;
  onLog?(ctx: RequestContext, entry: AccessEntry): void;
}

export interface PolicyEnv {
  routeName: string;
  services: Services;
}

export interface PolicyFactory<S extends TSchema = TSchema> {
  /** Stable dotted name, e.g. `core.access-log`; never renamed (configs refer to it). */
  readonly name: string;
  readonly description: string;
  readonly schema: S;
  create(config: Static<S>, env: PolicyEnv): Policy;
}

/** Identity helper that keeps the schema's static type attached to `create`'s config. */
export function definePolicy<S extends TSchema>(factory: PolicyFactory<S>): PolicyFactory<S> {
  return factory;
}
