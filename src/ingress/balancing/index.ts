/**
 * Load balancing and target health for upstreams (Q36 sticky sessions, Q43 high availability):
 * strategies, active health checks, passive outlier ejection and their metrics.
 */
export type { ActiveState, HealthCheckConfig, Probe } from './active-health.ts';
export { type Balancer, type BalancingConfig, createBalancer, type TargetHealth } from './balancer.ts';
export { murmur3 } from './hash.ts';
export type { BalanceRequest, Candidate, Choice, IsUp, Strategy } from './types.ts';
