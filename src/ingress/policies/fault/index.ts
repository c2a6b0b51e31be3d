/**
 * `core.fault` (Q30, chaos engineering): injects latency and/or aborts on a route, for a percentage
 * of requests or only for requests that ask for it by header — Envoy's fault filter and Istio's
 * `fault` in one policy. Off unless a route lists it. Every injected fault is visible three ways: an
 * `x-junction-fault` response header, an info log line with the request id, and
 * `junction_faults_injected_total{route,kind}`. docs/chaos.md has the how-to.
 *
 * An abort is thrown as a `JunctionError`, the path every gateway-made answer takes, so it gets the
 * problem+json (or XML) rendering, the route's response headers, `x-request-id`, and `fault_injected`
 * as the access log's error code. The configured status travels on the error instance: `defineError`
 * registers the code once with its default status, and `JunctionError` takes the status from the spec
 * it is given, so the route builds one spec with the same code and title and its own status.
 */
import { type ErrorSpec, JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv, type RequestContext } from '../../../core/policy.ts';
import { FaultInjected } from './errors.ts';
import { faultCounter } from './metrics.ts';
import { describe, type Injection, pickFaults, type Random } from './pick.ts';
import { type FaultConfig, faultSchema } from './schema.ts';
import { holdUnlessClosed } from './wait.ts';

export type { Injection, Random } from './pick.ts';
export type { FaultConfig } from './schema.ts';

/** The response header naming what was injected; fixed, whatever `when.header` is. */
export const FAULT_HEADER = 'x-junction-fault';

export interface FaultOptions {
  /** Defaults to `Math.random`; tests pass a scripted sequence. */
  random?: Random;
}

/**
 * Builds the policy for one route; `fault.create` is this with `Math.random`.
 * @example
 * const p = faultPolicy({ abort: { status: 503, percent: 100 } }, env, { random: () => 0 });
 */
export function faultPolicy(config: FaultConfig, env: PolicyEnv, options: FaultOptions = {}): Policy {
  const random = options.random ?? Math.random;
  const { logger, metrics } = env.services;
  const counter = faultCounter(metrics.registry);
  const delays = counter.labels({ route: env.routeName, kind: 'delay' });
  const aborts = counter.labels({ route: env.routeName, kind: 'abort' });
  const status = config.abort?.status ?? FaultInjected.status;
  const abortSpec: ErrorSpec =
    status === FaultInjected.status ? FaultInjected : Object.freeze({ ...FaultInjected, status });
  const detail = config.abort?.detail ?? `fault injected by route ${env.routeName}`;

  const announce = (ctx: RequestContext, injection: Injection) => {
    const fault = describe(injection);
    ctx.responseHeaders[FAULT_HEADER] = fault;
    if (injection.delayMs !== undefined) delays.inc();
    if (injection.abortStatus !== undefined) aborts.inc();
    logger.info(
      {
        requestId: ctx.id,
        route: env.routeName,
        fault,
        delayMs: injection.delayMs,
        abortStatus: injection.abortStatus,
      },
      'fault injected',
    );
  };
  const abortIfPicked = (injection: Injection): undefined => {
    if (injection.abortStatus !== undefined) throw new JunctionError(abortSpec, detail);
    return undefined;
  };

  return {
    onRequest(ctx) {
      const injection = pickFaults(config, ctx.headers, random);
      if (injection === undefined) return undefined;
      announce(ctx, injection);
      // No delay (or a zero one): stay synchronous, so the request pays for no promise.
      if (!injection.delayMs) return abortIfPicked(injection);
      return holdUnlessClosed(ctx.req.socket, injection.delayMs).then((stayed) => {
        // Nobody is left to answer; ending the chain here keeps the handler from calling the
        // upstream for them. The rejection finds the response destroyed and writes nothing.
        if (!stayed) throw new JunctionError(FaultInjected, 'the client left during an injected delay');
        return abortIfPicked(injection);
      });
    },
  };
}

export const fault = definePolicy({
  name: 'core.fault',
  description:
    'Chaos engineering: injects delays and/or problem+json aborts for a share of requests or on a header',
  schema: faultSchema,
  create: (config, env) => faultPolicy(config, env),
});
