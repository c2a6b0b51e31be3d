/**
 * The resilience stack around an upstream call (Q5, Q19, Q20), built from config out of the policies
 * in src/resilience. Order, outermost first (docs/resilience.md):
 *
 *   deadline (timeoutMs) → retry (with the upstream's budget) → circuit breaker → bulkhead → pacer → per-try timeout → attempt
 *
 * The two timeouts are not timer policies here but the attempt's `headersTimeout` (see RouteStack):
 * both bound the time to the response headers, which undici already times per request.
 *
 * so every try passes the breaker (an open breaker stops the retries) and holds a bulkhead slot only
 * while it runs, and the deadline bounds all of it, waits included. The breaker, bulkhead and retry
 * budget belong to the upstream and are shared by every route that calls it; a route may replace the
 * deadline and retry settings for its own calls.
 *
 * All of it judges the response head: the body streams to the client only after the stack returned
 * the attempt it settled on (src/ingress/handlers/exchange.ts, deferred mode).
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type {
  FailureKind,
  ResilienceConfig,
  RetryConfig,
  RouteResilienceConfig,
} from '../config/resilience-schema.ts';
import { isJunctionError } from '../core/errors.ts';
import type { Services } from '../core/services.ts';
import {
  type Bulkhead,
  type CircuitBreaker,
  createBulkhead,
  createCircuitBreaker,
  createRetry,
  createRetryBudget,
  type Outcome,
  type Pacer,
  type Policy,
  parseRetryAfter,
  type RetryBudget,
  wrap,
} from '../resilience/index.ts';
import type { Exchange } from './handlers/exchange.ts';
import { upstreamPacer } from './pacing.ts';

/** State shared by every route calling one upstream. */
export interface UpstreamResilience {
  readonly configKey: string;
  breaker: CircuitBreaker<Exchange> | undefined;
  bulkhead: Bulkhead<Exchange> | undefined;
  budget: RetryBudget | undefined;
  /** Egress pacing (Q3): innermost, so every try — retries included — waits for its slot. */
  pacer: Pacer<Exchange> | undefined;
}

/**
 * A route's compiled stacks. `once` is the same stack without the retry layer, for requests that
 * must not be sent twice (a POST without an Idempotency-Key, or a body too large to keep).
 */
export interface RouteStack {
  policy: Policy<Exchange>;
  once: Policy<Exchange>;
  retry: RetryConfig | undefined;
  /**
   * The per-try timeout, innermost in the stack. It bounds one try until the response headers, which
   * is exactly undici's per-request `headersTimeout`, so the attempt passes it there instead of a
   * JavaScript timer and AbortController per try (measured: the stack cost a third of the
   * throughput on a healthy upstream with them). Its expiry is `upstream_timeout`, told apart from
   * the overall `deadline_exceeded`.
   */
  perTryTimeoutMs: number | undefined;
  /**
   * The deadline for all tries until the response headers. Enforced the same way: each try's
   * `headersTimeout` is the smaller of the per-try timeout and what is left of the deadline, and a
   * try that would start past it fails at once with `deadline_exceeded`. Only a backoff wait can
   * outlast it, by at most `retry.backoff.capMs`.
   */
  timeoutMs: number | undefined;
  /** A pacer may hold calls: the caller passes a signal so a client that leaves gives its place back. */
  paced: boolean;
}

const TRANSPORT: Record<string, FailureKind> = {
  upstream_unreachable: 'connect-failure',
  upstream_connect_timeout: 'connect-failure',
  upstream_reset: 'reset',
  upstream_bad_response: 'reset',
  upstream_timeout: 'timeout',
  upstream_idle_timeout: 'timeout',
};

/** Whether an outcome is one of `kinds`: a status, `5xx`, or a transport failure by kind. */
export function matches(kinds: readonly FailureKind[], outcome: Outcome<Exchange>): boolean {
  if (outcome.ok) {
    const status = outcome.value.status;
    return kinds.includes(status) || (status >= 500 && kinds.includes('5xx'));
  }
  const code = isJunctionError(outcome.error) ? outcome.error.code : undefined;
  const kind = code === undefined ? undefined : TRANSPORT[code];
  return kind !== undefined && kinds.includes(kind);
}

interface ResilienceMetrics {
  retries: Counter<'upstream'>;
  budgetExhausted: Counter<'upstream'>;
  breakerState: Gauge<'upstream'>;
  breakerTransitions: Counter<'upstream' | 'to'>;
  bulkheadRejections: Counter<'upstream'>;
  bulkheadQueued: Gauge<'upstream'>;
  /** Read at scrape time. */
  sources: Map<string, UpstreamResilience>;
}

const metricsByRegistry = new WeakMap<Registry, ResilienceMetrics>();

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

function metricsFor(registry: Registry): ResilienceMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  const sources = new Map<string, UpstreamResilience>();
  m = {
    sources,
    retries: new Counter({
      name: 'junction_upstream_retries_total',
      help: 'Retries sent',
      labelNames: ['upstream'],
      registers,
    }),
    budgetExhausted: new Counter({
      name: 'junction_upstream_retry_budget_exhausted_total',
      help: 'Retries refused by the retry budget',
      labelNames: ['upstream'],
      registers,
    }),
    breakerState: new Gauge({
      name: 'junction_upstream_circuit_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['upstream'],
      registers,
      collect() {
        for (const [name, r] of sources)
          if (r.breaker) this.set({ upstream: name }, BREAKER_VALUE[r.breaker.snapshot().state]);
      },
    }),
    breakerTransitions: new Counter({
      name: 'junction_upstream_circuit_transitions_total',
      help: 'Circuit breaker state changes, by the state entered',
      labelNames: ['upstream', 'to'],
      registers,
    }),
    bulkheadRejections: new Counter({
      name: 'junction_upstream_bulkhead_rejections_total',
      help: 'Calls refused by the bulkhead (queue full or queue timeout)',
      labelNames: ['upstream'],
      registers,
      collect() {
        this.reset();
        for (const [name, r] of sources) {
          if (r.bulkhead) {
            const s = r.bulkhead.snapshot();
            this.inc({ upstream: name }, s.rejected + s.timedOut);
          }
        }
      },
    }),
    bulkheadQueued: new Gauge({
      name: 'junction_upstream_bulkhead_queued',
      help: 'Calls waiting for a bulkhead slot',
      labelNames: ['upstream'],
      registers,
      collect() {
        for (const [name, r] of sources)
          if (r.bulkhead) this.set({ upstream: name }, r.bulkhead.snapshot().queued);
      },
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/** The upstream's shared state, kept across reloads while its resilience config is unchanged. */
export function upstreamResilience(
  name: string,
  config: ResilienceConfig | undefined,
  registry: Registry,
  previous: UpstreamResilience | undefined,
  services?: Services,
): UpstreamResilience {
  const configKey = JSON.stringify(config ?? {});
  const m = metricsFor(registry);
  if (previous && previous.configKey === configKey) {
    m.sources.set(name, previous);
    return previous;
  }
  const b = config?.circuitBreaker;
  const breaker =
    b &&
    createCircuitBreaker<Exchange>({
      name,
      mode:
        b.mode === 'consecutive'
          ? { kind: 'consecutive', threshold: b.consecutiveFailures }
          : {
              kind: 'sampling',
              failureRatio: b.failureRatio,
              minimumRequests: b.minimumRequests,
              windowMs: b.windowMs,
            },
      resetMs: b.resetMs,
      halfOpenProbes: b.halfOpenProbes,
      isFailure: (o) => matches(b.failOn, o),
      onStateChange: (_from, to) => m.breakerTransitions.labels({ upstream: name, to }).inc(),
    });
  const k = config?.bulkhead;
  const bulkhead =
    k &&
    createBulkhead<Exchange>({
      name,
      maxConcurrent: k.maxConcurrent,
      maxQueue: k.maxQueue,
      queueTimeoutMs: k.queueTimeoutMs,
    });
  const r = config?.retry;
  const budget =
    r && r.budget !== false
      ? createRetryBudget({
          ratio: r.budget.ratio,
          ttlMs: r.budget.ttlMs,
          minRetriesPerSecond: r.budget.minRetriesPerSecond,
        })
      : undefined;
  // The schedule outlives changes to the other settings: a new pacer would forget the slots it gave.
  const kept = previous?.pacer && samePacing(previous.configKey, config?.pacing) ? previous.pacer : undefined;
  const pacer = config?.pacing && (kept ?? upstreamPacer(name, config.pacing, registry, services));
  const state = { configKey, breaker, bulkhead, budget, pacer };
  m.sources.set(name, state);
  return state;
}

/**
 * The stack for one route's calls to one upstream, or undefined when it has no resilience at all
 * (the proxy then takes its direct path: no promise, no deferred head).
 */
export function routeStack(
  upstreamName: string,
  shared: UpstreamResilience,
  upstreamConfig: ResilienceConfig | undefined,
  override: RouteResilienceConfig | undefined,
  registry: Registry,
): RouteStack | undefined {
  const timeoutMs = override?.timeoutMs ?? upstreamConfig?.timeoutMs;
  const retry = override?.retry === false ? undefined : (override?.retry ?? upstreamConfig?.retry);
  const budget = override?.retry === undefined ? shared.budget : undefined;
  const inner: Policy<Exchange>[] = [];
  const discard = (ex: Exchange) => ex.discard(true);
  let retryLayer: Policy<Exchange> | undefined;
  if (retry && retry.attempts > 1) {
    const m = metricsFor(registry);
    retryLayer = createRetry<Exchange>({
      maxAttempts: retry.attempts,
      backoff: retry.backoff,
      shouldRetry: (o) => matches(retry.retryOn, o),
      retryAfterMs: retry.retryAfter.honor
        ? (o) => (o.ok ? parseRetryAfter(first(o.value.headers['retry-after']), Date.now()) : undefined)
        : undefined,
      maxRetryAfterMs: retry.retryAfter.maxMs,
      budget:
        budget ??
        (override?.retry && override.retry.budget !== false
          ? createRetryBudget(override.retry.budget)
          : undefined),
      discard,
      onRetry: () => m.retries.labels({ upstream: upstreamName }).inc(),
      onBudgetExhausted: () => m.budgetExhausted.labels({ upstream: upstreamName }).inc(),
    });
  }
  if (shared.breaker) inner.push(shared.breaker);
  if (shared.bulkhead) inner.push(shared.bulkhead);
  if (shared.pacer) inner.push(shared.pacer);
  const perTryTimeoutMs = retry?.perTryTimeoutMs;
  if (
    inner.length === 0 &&
    retryLayer === undefined &&
    perTryTimeoutMs === undefined &&
    timeoutMs === undefined
  ) {
    return undefined;
  }
  const once = wrap(...inner);
  return {
    policy: retryLayer ? wrap(retryLayer, ...inner) : once,
    once,
    retry: retryLayer ? retry : undefined,
    perTryTimeoutMs,
    timeoutMs,
    paced: shared.pacer !== undefined,
  };
}

function samePacing(configKey: string, pacing: ResilienceConfig['pacing']): boolean {
  return JSON.stringify((JSON.parse(configKey) as ResilienceConfig).pacing) === JSON.stringify(pacing);
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
