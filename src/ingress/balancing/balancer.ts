import type { ConnectionOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import type { UpstreamConfig } from '../../config/schema.ts';
import type { Clock } from '../../resilience/types.ts';
import { type ActiveChecks, type Probe, startActiveChecks } from './active-health.ts';
import { consistentHash } from './consistent-hash.ts';
import { leastRequest } from './least-request.ts';
import { balancingMetrics } from './metrics.ts';
import { fresh, type OutlierState, recordOutcome } from './outlier.ts';
import { httpProbe } from './probe.ts';
import { roundRobin } from './round-robin.ts';
import { stickyCookie } from './sticky-cookie.ts';
import type { BalanceRequest, Candidate, Choice, IsUp, Strategy } from './types.ts';

export type BalancingConfig = Pick<UpstreamConfig, 'balance' | 'healthCheck' | 'outlierDetection'>;

export interface TargetHealth {
  /** In rotation: not ejected and, with active checks, healthy. */
  healthy: boolean;
  /** Epoch ms the current ejection ends; absent when the target is not ejected. */
  ejectedUntil?: number;
  consecutiveFailures: number;
}

export interface Balancer<T> {
  pick(req: BalanceRequest): Choice<T> | undefined;
  /** An exchange with `target` ended; `failed` feeds outlier detection. */
  done(target: T, failed: boolean): void;
  health(target: T): TargetHealth;
  /** Stops the health checks and forgets the metrics reporter; idempotent. */
  close(): Promise<void>;
}

/** The process clock, with timers that never keep the process alive on their own. */
const unrefClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

function strategyFor<T extends Candidate>(
  targets: readonly T[],
  balance: BalancingConfig['balance'],
  random: () => number,
): Strategy<T> {
  switch (balance.strategy) {
    case 'least-request':
      return leastRequest(targets, random);
    case 'consistent-hash':
      return consistentHash(targets, balance.hashOn);
    case 'sticky-cookie':
      return stickyCookie(targets, balance.cookie);
    default:
      return roundRobin(targets);
  }
}

/**
 * The balancing half of an upstream: a strategy choosing among the targets in rotation, active
 * health checks and passive outlier ejection deciding which those are, and their metrics.
 *
 * @example
 * const b = createBalancer({ upstream: 'api', targets, config, registry: metrics.registry });
 * const choice = b.pick(ctx); // undefined: every target is down → 503 no_healthy_target
 * b.done(choice.target, status >= 500);
 * await b.close();
 */
export function createBalancer<T extends Candidate & { origin: string }>(options: {
  upstream: string;
  targets: readonly T[];
  config: BalancingConfig;
  registry?: Registry;
  clock?: Clock;
  /** Replaces the HTTP check (tests). */
  probe?: Probe<T>;
  /** TLS options for the HTTP check of https: targets (the upstream's `tls`). */
  tls?: ConnectionOptions;
  random?: () => number;
}): Balancer<T> {
  const { upstream, targets, config } = options;
  const clock = options.clock ?? unrefClock;
  const metrics = options.registry === undefined ? undefined : balancingMetrics(options.registry);
  const strategy = strategyFor(targets, config.balance, options.random ?? Math.random);

  const outlier = config.outlierDetection;
  const passive = new Map<T, OutlierState>(targets.map((t) => [t, fresh()]));

  let active: ActiveChecks<T> | undefined;
  let closeProbe = async () => {};
  if (config.healthCheck !== undefined) {
    let probe = options.probe;
    if (probe === undefined) {
      const http = httpProbe<T>(config.healthCheck.path, config.healthCheck.timeoutMs, options.tls);
      probe = http.probe;
      closeProbe = http.close;
    }
    const checks = metrics?.checks;
    active = startActiveChecks({
      targets,
      config: config.healthCheck,
      clock,
      probe,
      onResult: checks && ((_t, passed) => checks.inc({ upstream, result: passed ? 'pass' : 'fail' })),
    });
  }

  const ejected = (t: T, now: number) => outlier !== undefined && passive.get(t)!.ejectedUntil > now;
  const isUp: IsUp<T> =
    outlier === undefined && active === undefined
      ? () => true
      : (t) => !ejected(t, clock.now()) && active?.state(t).status !== 'unhealthy';

  const health = (t: T): TargetHealth => {
    const now = clock.now();
    const state = passive.get(t) ?? fresh();
    const out: TargetHealth = { healthy: isUp(t), consecutiveFailures: state.consecutiveFailures };
    if (ejected(t, now)) out.ejectedUntil = state.ejectedUntil;
    return out;
  };
  const owner = {};
  metrics?.register(upstream, owner, () => targets.map((t) => ({ origin: t.origin, healthy: isUp(t) })));

  let closed: Promise<void> | undefined;
  return {
    pick: (req) => strategy.pick(req, isUp),
    done(target, failed) {
      if (outlier === undefined) return;
      const state = passive.get(target);
      if (state === undefined) return; // a target of another upstream object
      const now = clock.now();
      const room = { total: targets.length, ejected: () => targets.filter((t) => ejected(t, now)).length };
      if (recordOutcome(state, failed, now, outlier, room)) {
        metrics?.ejections.inc({ upstream, target: target.origin });
      }
    },
    health,
    close() {
      closed ??= (async () => {
        active?.stop();
        metrics?.unregister(upstream, owner);
        await closeProbe();
      })();
      return closed;
    },
  };
}
