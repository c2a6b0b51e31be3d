/**
 * RFC 9457 problem details: every answer the gateway makes itself (STYLE.md §5). JSON by default,
 * the XML form of RFC 9457 Appendix B when the client prefers XML (Q29).
 */
import { Internal, isJunctionError, type JunctionError } from './errors.ts';
import { type Format, problemFormat } from './negotiate.ts';
import { toXml } from './xml.ts';

/** Where `type` URIs point; each code is an anchor in docs/errors.md. */
export const ERROR_DOCS_BASE = 'https://github.com/junction-gateway/junction/blob/main/docs/errors.md#';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  requestId?: string;
  [extension: string]: unknown;
}

export interface RenderedProblem {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Turns any thrown value into a problem; anything that is not a JunctionError is an opaque 500. */
export function toProblem(err: unknown, requestId?: string, instance?: string): Problem {
  const e: Pick<JunctionError, 'code' | 'status' | 'title' | 'message' | 'extensions'> = isJunctionError(err)
    ? err
    : { ...Internal, message: Internal.title, extensions: undefined };
  const problem: Problem = {
    type: ERROR_DOCS_BASE + e.code,
    title: e.title,
    status: e.status,
    code: e.code,
  };
  // Unknown errors keep their message out of the answer: it may name internals (CWE-209).
  if (e.message !== e.title) problem.detail = e.message;
  if (instance !== undefined) problem.instance = instance;
  if (requestId !== undefined) problem.requestId = requestId;
  if (e.extensions) {
    for (const [k, v] of Object.entries(e.extensions)) if (!(k in problem)) problem[k] = v;
  }
  return problem;
}

export function renderProblem(problem: Problem, format: Format): RenderedProblem {
  if (format === 'xml') {
    return {
      status: problem.status,
      headers: { 'content-type': 'application/problem+xml; charset=utf-8' },
      body: toXml(problem, 'problem', 'urn:ietf:rfc:7807'),
    };
  }
  return {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    body: JSON.stringify(problem),
  };
}

/**
 * @example
 * const { status, headers, body } = problemResponse(err, req.headers.accept, ctx.id);
 */
export function problemResponse(
  err: unknown,
  accept: string | undefined,
  requestId?: string,
  instance?: string,
) {
  const rendered = renderProblem(toProblem(err, requestId, instance), problemFormat(accept));
  if (isJunctionError(err) && err.headers) Object.assign(rendered.headers, err.headers);
  return rendered;
}
