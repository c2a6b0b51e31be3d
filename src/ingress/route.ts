import type { ServerResponse } from 'node:http';
import type { RouteConfig } from '../config/schema.ts';
import type { Policy } from '../core/policy.ts';
import type { Context } from './context.ts';
import type { RouteStack } from './resilience.ts';
import type { Runtime } from './runtime.ts';

/** A route handler ends the request: it writes the response (through `onResponse`) or throws. */
export interface Handler {
  /** Name of the upstream, for metrics and logs; undefined for handlers that answer themselves. */
  readonly upstream: string | undefined;
  handle(ctx: Context, res: ServerResponse, route: CompiledRoute, rt: Runtime): void | Promise<void>;
  /** Forgets cached lookups (the shard directory after an admin edit); `key` alone, or all. */
  invalidate?(key?: string): void;
}

export interface CompiledRoute {
  readonly name: string;
  readonly config: RouteConfig;
  readonly handler: Handler;
  /** Policies in config order, split by the phases they implement (skipping the rest costs nothing). */
  readonly onRequest: Policy[];
  readonly onResponse: Policy[];
  readonly onLog: Policy[];
  readonly maxBodyBytes: number;
  /** The resilience stack for this route's calls to an upstream; undefined: none, direct path. */
  readonly stackFor: (upstream: string) => RouteStack | undefined;
  /** Set when the version this route serves is deprecated (Q6). */
  readonly deprecation: Deprecation | undefined;
}

export interface Deprecation {
  /** `Deprecation` (RFC 9745) and `Sunset` (RFC 8594). */
  headers: Record<string, string>;
  /** `/v<successor>`: the `successor-version` link (RFC 5829) is this plus the unversioned path. */
  successorPrefix: string | undefined;
  /** A ready `Link` value pointing at the deprecation notice. */
  link: string | undefined;
}
