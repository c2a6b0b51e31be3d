/**
 * The closed list of phases every request passes through, in order (STYLE.md §3; Kong's phases,
 * Envoy's filter chain, Fastify's hooks). docs/lifecycle.md draws the path.
 *
 * - `onRequest`: may answer early (auth, rate limits, validation); returns `undefined` to continue.
 * - `handle`: the route's handler (proxy, respond, …); resilience policies `wrap` the upstream call.
 * - `onResponse`: may rewrite status, headers or the body stream before it reaches the client.
 * - `onLog`: after the response is finished or aborted; metrics, access log, tracing, audit.
 */
export const PHASES = ['onRequest', 'handle', 'onResponse', 'onLog'] as const;
export type Phase = (typeof PHASES)[number];
