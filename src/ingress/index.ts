/** The ingress surface: compile a config into a runtime, serve it, describe it. */

export { closePacing } from './pacing.ts';
export { closePolicies, providePolicyStores } from './policies/index.ts';
export { compileRuntime, policyFactories, type Runtime } from './runtime.ts';
export { ProxyServer, type ProxyServerOptions } from './server.ts';
export { type RouteSummary, routeSummaries, type UpstreamSummary, upstreamSummaries } from './summaries.ts';
export { closeUpstreams, type Upstream } from './upstreams.ts';
