/**
 * Errors as a registry of stable codes (Fastify `errors.js`, jose's `static code`).
 *
 * Every failure Junction reports carries a `code` that never changes meaning and is never reused.
 * The edge turns a `JunctionError` into an RFC 9457 problem document whose `type` points at
 * `docs/errors.md#<code>`; callers compare `err.code`, never messages.
 */

export interface ErrorSpec {
  /** Stable, lowercase snake_case identifier; the anchor in docs/errors.md. */
  readonly code: string;
  /** HTTP status the edge answers with. */
  readonly status: number;
  /** Short, human-readable summary of the problem type (RFC 9457 §3.1.4); never varies per occurrence. */
  readonly title: string;
}

export interface JunctionErrorOptions {
  cause?: unknown;
  /** Extra members for the problem document (RFC 9457 §3.2 extension members). */
  extensions?: Record<string, unknown>;
  /** Response headers that belong to this answer, e.g. `Retry-After` or `Allow`. */
  headers?: Record<string, string>;
}

export class JunctionError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly extensions: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(spec: ErrorSpec, detail?: string, options: JunctionErrorOptions = {}) {
    super(detail ?? spec.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JunctionError';
    this.code = spec.code;
    this.status = spec.status;
    this.title = spec.title;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

const registry = new Map<string, ErrorSpec>();

/**
 * Declares an error code once, at module load. Declaring the same code twice is a bug: codes are
 * unique across the project because clients and docs key on them.
 *
 * @example
 * export const RouteNotFound = defineError('route_not_found', 404, 'No route matches the request');
 * throw new JunctionError(RouteNotFound, `no route for GET /x`);
 */
export function defineError(code: string, status: number, title: string): ErrorSpec {
  if (!/^[a-z][a-z0-9_]*$/.test(code)) throw new TypeError(`error code ${code} must be snake_case`);
  if (registry.has(code)) throw new TypeError(`error code ${code} is declared twice`);
  const spec = Object.freeze({ code, status, title });
  registry.set(code, spec);
  return spec;
}

/** Every declared error code; docs/errors.md is checked against this list by a test. */
export function errorCatalog(): ErrorSpec[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export function isJunctionError(err: unknown): err is JunctionError {
  return err instanceof JunctionError;
}

// Errors the core itself answers with. Areas declare theirs in their own errors.ts.
export const Internal = defineError('internal_error', 500, 'Internal error');
export const BadRequest = defineError('bad_request', 400, 'Malformed request');
export const NotAcceptable = defineError('not_acceptable', 406, 'Not acceptable');
export const RequestTimeout = defineError('request_timeout', 408, 'Request timeout');
export const HeadersTooLarge = defineError('headers_too_large', 431, 'Request header fields too large');
export const PayloadTooLarge = defineError('payload_too_large', 413, 'Payload too large');
