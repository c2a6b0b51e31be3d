/**
 * An endpoint another area mounts on the proxy listener (the event hub's `POST /hooks/<source>`):
 * the ingress compiles it into its route table like a configured route, so the default observability
 * policies (access log, metrics, tracing) see it, while the areas stay independent of each other
 * (DESIGN.md: `events` does not import `ingress`, nor the reverse; both import this).
 */
import type { Answer, RequestContext } from './policy.ts';

export interface EndpointRequest {
  readonly ctx: RequestContext;
  /**
   * The raw body, bounded by the endpoint's `maxBodyBytes` (a `payload_too_large` JunctionError past
   * it). Read on demand, so the endpoint decides when, and sees the bytes before any parser.
   */
  body(): Promise<Buffer>;
}

export interface MountedEndpoint {
  /** Route name in logs and metrics, e.g. `hook:stripe`. */
  readonly name: string;
  /** An exact path (no parameters or wildcards). */
  readonly path: string;
  /** Methods it answers; any other gets 405 with `Allow`, whatever the configured routes say. */
  readonly methods: readonly string[];
  /** JSON pointer of the config entry that declared it, for config errors (a path taken twice). */
  readonly configPath: string;
  readonly maxBodyBytes: number;
  handle(req: EndpointRequest): Promise<Answer>;
}
