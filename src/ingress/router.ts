/**
 * Route matching on method, path, host, headers and API version (Q6).
 *
 * Paths go through find-my-way (Fastify's radix router: static before parametric before wildcard,
 * no regex backtracking). A path+method can be claimed by several routes that differ by host,
 * headers or version; those candidates are tried in config order after the path matched.
 */
import FindMyWay from 'find-my-way';
import type { ApiConfig, RouteConfig } from '../config/schema.ts';
import { JunctionError } from '../core/errors.ts';
import { ApiVersionRequired, ApiVersionUnknown, MethodNotAllowed, RouteNotFound } from './errors.ts';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'] as const;

interface HostMatcher {
  exact: Set<string>;
  /** `*.example.com` stored as `.example.com`. */
  suffixes: string[];
}

interface HeaderMatcher {
  name: string;
  value: string | undefined; // undefined: presence only
  present: boolean;
}

export interface Candidate<R> {
  route: R;
  hosts: HostMatcher | undefined;
  headers: HeaderMatcher[];
  /** The version this route serves, when versioned. */
  version: { api: string; is: string } | undefined;
  /** Set for the `/v<n>` registration of a versioned route: the version is in the path. */
  pathVersion: string | undefined;
}

export interface Match<R> {
  route: R;
  params: Record<string, string>;
  version: string | undefined;
  /** The `/v<n>` prefix the request came in with, to strip before proxying. */
  versionPrefix: string | undefined;
}

export interface RouterInput<R> {
  route: R;
  config: RouteConfig;
}

export class Router<R> {
  readonly #paths = FindMyWay({ ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 500 });
  readonly #apis: Record<string, ApiConfig>;

  constructor(routes: RouterInput<R>[], apis: Record<string, ApiConfig>) {
    this.#apis = apis;
    const byKey = new Map<string, { method: string; path: string; candidates: Candidate<R>[] }>();
    const add = (method: string, path: string, candidate: Candidate<R>) => {
      const key = `${method} ${path}`;
      const entry = byKey.get(key) ?? { method, path, candidates: [] };
      byKey.set(key, entry);
      entry.candidates.push(candidate);
    };
    for (const { route, config } of routes) {
      const m = config.match;
      const base: Candidate<R> = {
        route,
        hosts: m.hosts ? hostMatcher(m.hosts) : undefined,
        headers: Object.entries(m.headers ?? {}).map(([name, v]) => ({
          name: name.toLowerCase(),
          value: typeof v === 'string' ? v : undefined,
          present: typeof v === 'string' ? true : v.present,
        })),
        version: m.version,
        pathVersion: undefined,
      };
      // A route that answers GET answers HEAD too (RFC 9110 §9.3.2).
      const methods =
        m.methods?.includes('GET') && !m.methods.includes('HEAD') ? [...m.methods, 'HEAD'] : m.methods;
      for (const method of methods ?? HTTP_METHODS) {
        add(method, m.path, base);
        if (m.version && this.#apis[m.version.api]?.pathPrefix !== false) {
          add(method, `/v${m.version.is}${m.path}`, { ...base, pathVersion: m.version.is });
        }
      }
    }
    for (const { method, path, candidates } of byKey.values()) {
      this.#paths.on(method as 'GET', path, () => {}, candidates);
    }
  }

  /**
   * The route for a request, or a JunctionError: 404 when nothing matches, 405 when only the method
   * is wrong (with `Allow`, RFC 9110 §15.5.6), 400 for a version the API does not have.
   */
  match(
    method: string,
    path: string,
    host: string,
    headers: Record<string, string | string[] | undefined>,
  ): Match<R> {
    const found = this.#paths.find(method as 'GET', path);
    if (found) {
      const candidates = found.store as Candidate<R>[];
      // The version asked of one API (usually the only one on a path), resolved once; a version
      // error is the answer only if no later candidate matches.
      let requestedApi: string | undefined;
      let requested: string | JunctionError | undefined;
      let versionError: JunctionError | undefined;
      for (const c of candidates) {
        if (c.hosts && !hostMatches(c.hosts, host)) continue;
        if (!headersMatch(c.headers, headers)) continue;
        let version: string | undefined;
        if (c.version) {
          if (c.pathVersion !== undefined) {
            version = c.pathVersion;
          } else {
            if (requestedApi !== c.version.api) {
              requestedApi = c.version.api;
              requested = this.#tryRequestedVersion(c.version.api, headers);
            }
            if (typeof requested !== 'string') {
              versionError ??= requested;
              continue;
            }
            version = requested;
          }
          if (version !== c.version.is) continue;
        }
        return {
          route: c.route,
          params: found.params as Record<string, string>,
          version,
          versionPrefix: c.pathVersion === undefined ? undefined : `/v${c.pathVersion}`,
        };
      }
      if (versionError !== undefined) throw versionError;
    }
    const allowed = found
      ? []
      : HTTP_METHODS.filter((m) => m !== method && this.#paths.find(m, path) !== null);
    if (allowed.length > 0) {
      throw new JunctionError(MethodNotAllowed, `${method} is not allowed on ${path}`, {
        headers: { allow: allowed.join(', ') },
      });
    }
    throw new JunctionError(RouteNotFound, `no route for ${method} ${path}`);
  }

  #tryRequestedVersion(
    apiName: string,
    headers: Record<string, string | string[] | undefined>,
  ): string | JunctionError {
    try {
      return this.requestedVersion(apiName, headers);
    } catch (err) {
      if (err instanceof JunctionError) return err;
      throw err;
    }
  }

  /**
   * The version a request asks for (precedence: header, then media type, then the API's default).
   * Throws for a version the API does not list, or when none is given and the API has no default.
   */
  requestedVersion(apiName: string, headers: Record<string, string | string[] | undefined>): string {
    const api = this.#apis[apiName]!;
    let version: string | undefined;
    if (api.header) version = first(headers[api.header.toLowerCase()])?.trim();
    if (!version && api.mediaType) version = mediaTypeVersion(first(headers.accept), api.mediaType);
    version ||= api.default;
    if (!version) {
      throw new JunctionError(ApiVersionRequired, `name a version of ${apiName}`, {
        extensions: { versions: Object.keys(api.versions) },
      });
    }
    if (!(version in api.versions)) {
      throw new JunctionError(ApiVersionUnknown, `${apiName} has no version ${version.slice(0, 32)}`, {
        extensions: { versions: Object.keys(api.versions) },
      });
    }
    return version;
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * `Accept: application/vnd.commerce.v2+json` → "2" for mediaType `vnd.commerce`. Media types are
 * case-insensitive (RFC 9110 §8.3.1); among several versioned ranges the highest q wins (first on a
 * tie), and `q=0` means "not this one" (RFC 9110 §12.4.2).
 */
export function mediaTypeVersion(accept: string | undefined, mediaType: string): string | undefined {
  if (!accept) return undefined;
  const needle = `application/${mediaType.toLowerCase()}.v`;
  if (!accept.toLowerCase().includes(needle)) return undefined;
  let best: string | undefined;
  let bestQ = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';');
    const t = type.trim();
    if (!t.toLowerCase().startsWith(needle)) continue;
    const m = /^([0-9A-Za-z.-]+?)(?:\+[0-9A-Za-z.-]+)?$/.exec(t.slice(needle.length));
    if (!m) continue;
    let q = 1;
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq !== -1 && p.slice(0, eq).trim().toLowerCase() === 'q') q = Number(p.slice(eq + 1).trim());
    }
    if (q > bestQ) {
      best = m[1];
      bestQ = q;
    }
  }
  return best;
}

function hostMatcher(hosts: string[]): HostMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const h of hosts) {
    const lower = h.toLowerCase();
    if (lower.startsWith('*.')) suffixes.push(lower.slice(1));
    else exact.add(lower);
  }
  return { exact, suffixes };
}

function hostMatches(m: HostMatcher, host: string): boolean {
  const h = host.toLowerCase();
  if (m.exact.has(h)) return true;
  // A pattern without a port matches the host on any port.
  const colon = h.lastIndexOf(':');
  const bare = colon > h.lastIndexOf(']') ? h.slice(0, colon) : h;
  if (bare !== h && m.exact.has(bare)) return true;
  for (const s of m.suffixes) if (h.endsWith(s) || bare.endsWith(s)) return true;
  return false;
}

function headersMatch(
  matchers: HeaderMatcher[],
  headers: Record<string, string | string[] | undefined>,
): boolean {
  for (const m of matchers) {
    const v = headers[m.name];
    if (!m.present) {
      if (v !== undefined) return false;
    } else if (v === undefined) {
      return false;
    } else if (m.value !== undefined && first(v) !== m.value) {
      return false;
    }
  }
  return true;
}
