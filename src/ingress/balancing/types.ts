/**
 * What the balancing strategies work on. They are generic over the target so they stay pure: the
 * upstream hands them its `Target`s (with pools), unit tests hand them plain objects.
 */
import type { RequestContext } from '../../core/policy.ts';

/** The part of a target a strategy reads. */
export interface Candidate {
  /** Stable id (the sticky cookie and the hash ring name it). */
  readonly id: string;
  /** Requests sent and not yet finished (least-request compares it). */
  readonly inflight: number;
}

/** Whether a target is in rotation now (not ejected and, with active checks, healthy). */
export type IsUp<T> = (target: T) => boolean;

/** A strategy's decision; `setCookie` is a `Set-Cookie` value for the response. */
export interface Choice<T> {
  target: T;
  setCookie?: string;
}

/** The request fields a strategy may key on. */
export type BalanceRequest = Pick<RequestContext, 'headers' | 'clientIp' | 'slots'>;

export interface Strategy<T extends Candidate> {
  /** A target in rotation for this request, or undefined when none is. */
  pick(req: BalanceRequest, isUp: IsUp<T>): Choice<T> | undefined;
}
