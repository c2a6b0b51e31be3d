import { defineError } from '../../../core/errors.ts';

/** RFC 6585 §4; answered with `Retry-After` and the RateLimit header fields. */
export const RateLimited = defineError('rate_limited', 429, 'Too many requests');

/** The shared limiter could not decide (Redis unreachable or slow) and the route fails closed. */
export const RateLimitUnavailable = defineError('rate_limit_unavailable', 503, 'Rate limiter unavailable');
