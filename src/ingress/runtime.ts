/**
 * Compiles a validated config into the immutable snapshot the listener serves from: router, routes
 * with their policies, upstream pools. A reload builds a new snapshot and swaps one reference;
 * requests in flight keep the snapshot they started with.
 *
 * Errors found here (a route naming a missing upstream, an unknown policy) are config errors with
 * file, line and JSON path, like schema errors.
 *
 * Endpoints mounted by other areas (the event hub's webhook sources, src/core/endpoint.ts) are
 * compiled into the same route table rather than checked before routing: they get the request id,
 * the access log, metrics and tracing like any route, and a reload swaps them with the routes in one
 * step. Of the default policies they get only those observing the exchange (ENDPOINT_POLICIES): a
 * webhook's credential is its signature, so a default `auth.*` or rate limit meant for API clients
 * must not turn providers away.
 */
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { ConfigInvalid, type ConfigIssue } from '../config/errors.ts';
import type { LoadedConfig } from '../config/loader.ts';
import { formatIssues } from '../config/loader.ts';
import type { ApiConfig, Config, RouteConfig, ShardConfig } from '../config/schema.ts';
import type { MountedEndpoint } from '../core/endpoint.ts';
import { JunctionError } from '../core/errors.ts';
import type { Policy, PolicyFactory } from '../core/policy.ts';
import type { Services } from '../core/services.ts';
import { type ForwardingOptions, trustedProxies } from './forwarding.ts';
import { endpointHandler } from './handlers/endpoint.ts';
import { proxyHandler } from './handlers/proxy.ts';
import { respondHandler } from './handlers/respond.ts';
import { type ShardDirectory, shardHandler } from './handlers/shard.ts';
import { POLICIES } from './policies/index.ts';
import { type RouteStack, routeStack, type UpstreamResilience, upstreamResilience } from './resilience.ts';
import type { CompiledRoute, Deprecation, Handler } from './route.ts';
import { Router } from './router.ts';
import { buildUpstreams, type Upstream } from './upstreams.ts';

export interface Runtime {
  readonly config: Config;
  readonly router: Router<CompiledRoute>;
  readonly upstreams: Map<string, Upstream>;
  readonly forwarding: ForwardingOptions;
  readonly services: Services;
  /** Per upstream: circuit breaker, bulkhead and retry budget (shared by the routes calling it). */
  readonly resilience: Map<string, UpstreamResilience>;
  /** Compiled routes by name. */
  readonly routes: Map<string, CompiledRoute>;
  /** Shard directory lookups for `shard` routes with the `directory` strategy. */
  readonly shards: ShardDirectory;
  /** Pseudo-route for requests no route matched: the default policies, so they are logged and counted. */
  readonly fallback: CompiledRoute;
  /** Upstreams of the previous snapshot that this one no longer uses; closed after the swap. */
  readonly retired: Upstream[];
}

const factories = new Map(POLICIES.map((p) => [p.name, { factory: p, check: Compile(p.schema) }]));

export function policyFactories(): readonly PolicyFactory[] {
  return POLICIES;
}

const NO_DIRECTORY: ShardDirectory = { lookup: async () => undefined };

/** The default policies a mounted endpoint keeps: the ones that observe, none that refuse. */
const ENDPOINT_POLICIES: ReadonlySet<string> = new Set(['core.tracing', 'core.access-log', 'core.metrics']);

export function compileRuntime(
  loaded: LoadedConfig,
  services: Services,
  previous?: Runtime,
  shards: ShardDirectory = NO_DIRECTORY,
  endpoints: readonly MountedEndpoint[] = [],
): Runtime {
  const { config } = loaded;
  const issues: ConfigIssue[] = [];
  const issue = (path: string, message: string) =>
    issues.push({ file: loaded.file, ...loaded.locate(path), path, message });

  checkReferences(config, issue);
  // Breakers, bulkheads and budgets per upstream, kept across reloads while their config is unchanged.
  const resilience = new Map<string, UpstreamResilience>();
  for (const [name, u] of Object.entries(config.upstreams)) {
    try {
      resilience.set(
        name,
        upstreamResilience(
          name,
          u.resilience,
          services.metrics.registry,
          previous?.resilience.get(name),
          services,
        ),
      );
    } catch (err) {
      // The policies check their settings too (RangeError); say so at the config's place.
      issue(`/upstreams/${name}/resilience`, (err as Error).message);
      resilience.set(name, upstreamResilience(name, undefined, services.metrics.registry, undefined));
    }
  }
  /** A route's stack per upstream it calls, built on first use (a shard route may call any). */
  const stacks = (rc: RouteConfig) => {
    const memo = new Map<string, RouteStack | undefined>();
    return (name: string) => {
      if (!memo.has(name)) {
        const shared = resilience.get(name)!;
        const own = config.upstreams[name]?.resilience;
        memo.set(name, routeStack(name, shared, own, rc.proxy?.resilience, services.metrics.registry));
      }
      return memo.get(name);
    };
  };
  /** A proxy route's stack is built now, so that settings the policies refuse are config errors. */
  const checkedStacks = (rc: RouteConfig, i: number) => {
    const stackFor = stacks(rc);
    if (rc.proxy && resilience.has(rc.proxy.upstream)) {
      try {
        stackFor(rc.proxy.upstream);
      } catch (err) {
        issue(`/routes/${i}/proxy/resilience`, (err as Error).message);
      }
    }
    return stackFor;
  };
  const routes: { route: CompiledRoute; config: RouteConfig }[] = [];
  config.routes.forEach((rc, i) => {
    const policies = buildPolicies(config, rc, i, services, issue);
    const handler = buildHandler(rc, i, issue);
    if (!handler || !policies) return;
    routes.push({
      config: rc,
      route: {
        name: rc.name,
        config: rc,
        handler,
        onRequest: policies.filter((p) => p.onRequest),
        onResponse: policies.filter((p) => p.onResponse),
        onLog: policies.filter((p) => p.onLog),
        maxBodyBytes: rc.limits?.maxBodyBytes ?? config.limits.maxBodyBytes,
        deprecation: deprecationOf(rc, config.apis),
        stackFor: checkedStacks(rc, i),
      },
    });
  });
  for (const e of mountEndpoints(config, endpoints, services, issue)) routes.push(e);
  const fallbackConfig: RouteConfig = { name: 'unmatched', match: { path: '/*' }, respond: { status: 404 } };
  const fallbackPolicies = buildPolicies(config, fallbackConfig, -1, services, issue) ?? [];
  if (issues.length > 0)
    throw new JunctionError(ConfigInvalid, formatIssues(issues), { extensions: { issues } });

  const { upstreams, retired } = buildUpstreams(config.upstreams, services.metrics, previous?.upstreams);
  return {
    config,
    router: new Router(routes, config.apis),
    routes: new Map(routes.map((r) => [r.route.name, r.route])),
    resilience,
    upstreams,
    retired,
    services,
    shards,
    fallback: {
      name: 'unmatched',
      config: fallbackConfig,
      handler: respondHandler({ status: 404 }),
      onRequest: [],
      onResponse: [],
      onLog: fallbackPolicies.filter((p) => p.onLog),
      maxBodyBytes: 0,
      deprecation: undefined,
      stackFor: () => undefined,
    },
    forwarding: {
      mode: config.forwarding.headers,
      trusted: trustedProxies(config.forwarding.trustedProxies),
      via: config.forwarding.via,
      requestIdHeader: config.forwarding.requestIdHeader.toLowerCase(),
    },
  };
}

function checkReferences(config: Config, issue: (path: string, message: string) => void): void {
  const names = new Set<string>();
  config.routes.forEach((r, i) => {
    if (names.has(r.name)) issue(`/routes/${i}/name`, `route name ${r.name} is used twice`);
    names.add(r.name);
    if (r.proxy && !(r.proxy.upstream in config.upstreams)) {
      const known = Object.keys(config.upstreams).join(', ') || 'none';
      issue(`/routes/${i}/proxy/upstream`, `no upstream named ${r.proxy.upstream} (defined: ${known})`);
    }
    if (r.shard) {
      checkShard(config, r.shard, i, issue);
      if ('param' in r.shard.key && !r.match.path.includes(`:${r.shard.key.param}`)) {
        issue(`/routes/${i}/shard/key/param`, `the route path ${r.match.path} has no :${r.shard.key.param}`);
      }
    }
    const v = r.match.version;
    if (v) {
      const api = config.apis[v.api];
      if (!api)
        issue(
          `/routes/${i}/match/version/api`,
          `no api named ${v.api} (defined: ${Object.keys(config.apis).join(', ') || 'none'})`,
        );
      else if (!(v.is in api.versions))
        issue(`/routes/${i}/match/version/is`, `api ${v.api} has no version ${v.is}`);
    }
  });
  for (const [name, api] of Object.entries(config.apis)) {
    if (api.default !== undefined && !(api.default in api.versions)) {
      issue(`/apis/${name}/default`, `default version ${api.default} is not among the versions`);
    }
    for (const [version, v] of Object.entries(api.versions)) {
      if (v.successor !== undefined && !(v.successor in api.versions)) {
        issue(
          `/apis/${name}/versions/${version}/successor`,
          `successor ${v.successor} is not among the versions`,
        );
      }
    }
  }
  for (const [name, up] of Object.entries(config.upstreams)) {
    up.targets.forEach((t, j) => {
      const url = typeof t === 'string' ? t : t.url;
      if (!URL.canParse(url)) issue(`/upstreams/${name}/targets/${j}`, `not a URL: ${url}`);
    });
  }
}

/** Endpoints as routes; a path already taken by a route or another endpoint is a config error. */
function mountEndpoints(
  config: Config,
  endpoints: readonly MountedEndpoint[],
  services: Services,
  issue: (path: string, message: string) => void,
): { route: CompiledRoute; config: RouteConfig }[] {
  const taken = new Map<string, string>();
  config.routes.forEach((r, i) => {
    taken.set(r.match.path, `route ${r.name} (/routes/${i})`);
  });
  const mounted: { route: CompiledRoute; config: RouteConfig }[] = [];
  for (const e of endpoints) {
    const owner = taken.get(e.path);
    if (owner !== undefined) {
      issue(e.configPath, `path ${e.path} is already served by ${owner}`);
      continue;
    }
    taken.set(e.path, `${e.name} (${e.configPath})`);
    const off = Object.keys(config.defaults.policies).filter((n) => !ENDPOINT_POLICIES.has(n));
    const rc: RouteConfig = {
      name: e.name,
      match: { path: e.path },
      respond: { status: 204 },
      policies: Object.fromEntries(off.map((n) => [n, false])),
    };
    const policies = buildPolicies(config, rc, -1, services, issue) ?? [];
    mounted.push({
      config: rc,
      route: {
        name: e.name,
        config: rc,
        handler: endpointHandler(e),
        onRequest: policies.filter((p) => p.onRequest),
        onResponse: policies.filter((p) => p.onResponse),
        onLog: policies.filter((p) => p.onLog),
        maxBodyBytes: e.maxBodyBytes,
        deprecation: undefined,
        stackFor: () => undefined,
      },
    });
  }
  return mounted;
}

function buildHandler(
  rc: RouteConfig,
  i: number,
  issue: (path: string, message: string) => void,
): Handler | undefined {
  const kinds = [rc.proxy && 'proxy', rc.respond && 'respond', rc.shard && 'shard'].filter(Boolean);
  if (kinds.length !== 1) {
    issue(
      `/routes/${i}`,
      kinds.length === 0
        ? 'a route needs a handler: proxy, respond or shard'
        : `a route has one handler, not ${kinds.join(' and ')}`,
    );
    return undefined;
  }
  if (rc.proxy) return proxyHandler(rc.proxy);
  if (rc.shard) return shardHandler(rc.shard, rc.name);
  return respondHandler(rc.respond!);
}

function buildPolicies(
  config: Config,
  rc: RouteConfig,
  i: number,
  services: Services,
  issue: (path: string, message: string) => void,
): Policy[] | undefined {
  const merged: Record<string, { value: unknown; path: string }> = {};
  for (const [name, value] of Object.entries(config.defaults.policies))
    merged[name] = { value, path: `/defaults/policies/${pointerToken(name)}` };
  for (const [name, value] of Object.entries(rc.policies ?? {}))
    merged[name] = { value, path: `/routes/${i}/policies/${pointerToken(name)}` };
  const policies: Policy[] = [];
  let ok = true;
  for (const [name, { value, path }] of Object.entries(merged)) {
    if (value === false) continue;
    const entry = factories.get(name);
    if (!entry) {
      issue(path, `unknown policy ${name} (known: ${[...factories.keys()].join(', ')})`);
      ok = false;
      continue;
    }
    const cfg = Value.Default(entry.factory.schema, value === true ? {} : structuredClone(value));
    if (!entry.check.Check(cfg)) {
      for (const e of entry.check.Errors(cfg)) {
        if (e.keyword === 'additionalProperties') continue;
        issue(path + e.instancePath, e.keyword === 'boolean' ? 'unknown key' : e.message);
      }
      ok = false;
      continue;
    }
    try {
      policies.push(entry.factory.create(cfg, { routeName: rc.name, services }));
    } catch (err) {
      // A policy that checks its config further when built (a Cedar policy, a key file) reports at
      // the policy's place in the file, like a schema error.
      issue(path, (err as Error).message);
      ok = false;
    }
  }
  return ok ? policies : undefined;
}

/** RFC 9745 `Deprecation: @<unix seconds>`, RFC 8594 `Sunset: <HTTP-date>`, RFC 8288 `Link`s (Q6). */
function deprecationOf(rc: RouteConfig, apis: Record<string, ApiConfig>): Deprecation | undefined {
  const v = rc.match.version;
  if (!v) return undefined;
  const api = apis[v.api];
  const info = api?.versions[v.is];
  if (!api || !info || (info.deprecation === undefined && info.sunset === undefined)) return undefined;
  const headers: Record<string, string> = {};
  if (info.deprecation) headers.deprecation = `@${Math.floor(Date.parse(info.deprecation) / 1000)}`;
  if (info.sunset) headers.sunset = new Date(info.sunset).toUTCString();
  return {
    headers,
    successorPrefix:
      info.successor !== undefined && api.pathPrefix !== false ? `/v${info.successor}` : undefined,
    link: info.link === undefined ? undefined : `<${info.link}>; rel="deprecation"; type="text/html"`,
  };
}

/** RFC 6901 §3: `~` and `/` inside a key are escaped in a JSON pointer. */
function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function checkShard(
  config: Config,
  shard: ShardConfig,
  i: number,
  issue: (path: string, message: string) => void,
): void {
  const at = `/routes/${i}/shard`;
  const known = (name: string, path: string) => {
    if (!(name in config.upstreams)) issue(path, `no upstream named ${name}`);
  };
  const needs = {
    hash: 'upstreams',
    'consistent-hash': 'upstreams',
    range: 'ranges',
    directory: 'directory',
  } as const;
  const field = needs[shard.strategy];
  if (shard[field] === undefined) issue(`${at}/strategy`, `strategy ${shard.strategy} needs shard.${field}`);
  shard.upstreams?.forEach((u, j) => {
    known(u, `${at}/upstreams/${j}`);
  });
  shard.ranges?.forEach((r, j) => {
    known(r.upstream, `${at}/ranges/${j}/upstream`);
    if (r.upTo === undefined && j !== shard.ranges!.length - 1)
      issue(`${at}/ranges/${j}`, 'only the last range may omit upTo');
  });
  if (shard.directory?.default !== undefined) known(shard.directory.default, `${at}/directory/default`);
  if ('param' in shard.key && !shard.key.param.match(/^[A-Za-z_][A-Za-z0-9_]*$/))
    issue(`${at}/key/param`, 'not a parameter name');
}
