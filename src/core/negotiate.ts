/**
 * Content negotiation (Q29, RFC 9110 §12.5.1) over the `Accept` field, with `negotiator` (jshttp,
 * the parser Express and Koa use) doing the q-value and specificity ranking.
 */
import Negotiator from 'negotiator';

export type Format = 'json' | 'xml';

// With the charset we send, so that `Accept: application/json; charset=utf-8` matches: a range's
// parameters must be present on the type it matches (RFC 9110 §12.5.1; negotiator enforces it).
const PROBLEM_TYPES = [
  'application/problem+json',
  'application/json',
  'application/problem+xml',
  'application/xml',
  'text/xml',
].map((t) => `${t}; charset=utf-8`);
const HTML = 'text/html; charset=utf-8';
const PROBLEM_TYPES_OR_HTML = [...PROBLEM_TYPES, HTML];
const DATA_TYPES = ['application/json', 'application/xml', 'text/xml'].map((t) => `${t}; charset=utf-8`);

function formatOf(mediaType: string | undefined): Format | undefined {
  if (mediaType === undefined) return undefined;
  return mediaType.slice(0, mediaType.indexOf(';')).endsWith('xml') ? 'xml' : 'json';
}

/**
 * The format for a problem document the gateway renders itself. A client that accepts neither still
 * gets JSON: replacing a 502 by a 406 would hide what went wrong (RFC 9110 §15.5.7 allows sending a
 * representation the client did not ask for). No `Accept` means anything is acceptable.
 */
export function problemFormat(accept: string | undefined): Format {
  if (accept === undefined || accept === '') return 'json';
  // A browser navigation (`text/html,…,application/xml;q=0.9,*/*;q=0.8`) would pick XML, which
  // Chromium neither shows nor saves sensibly (ERR_INVALID_RESPONSE on a form post): a client that
  // prefers HTML gets JSON, which every browser displays as text.
  const chosen = new Negotiator({ headers: { accept } }).mediaType(PROBLEM_TYPES_OR_HTML);
  return chosen === HTML ? 'json' : (formatOf(chosen) ?? 'json');
}

/**
 * The format for data the gateway renders or converts, or `undefined` when the client accepts
 * neither JSON nor XML (the caller answers 406). A wildcard range that covers both gives JSON;
 * between ranges of equal q, the client's order decides (negotiator's rule).
 */
export function dataFormat(accept: string | undefined): Format | undefined {
  if (accept === undefined || accept === '') return 'json';
  return formatOf(new Negotiator({ headers: { accept: withSuffixesAsBase(accept) } }).mediaType(DATA_TYPES));
}

/**
 * A structured-syntax suffix (RFC 6839 §3) names the format underneath a vendor type:
 * `application/vnd.commerce.v2+json` is JSON (the version in it is the router's business, Q6).
 * Problem types are not: asking only for `application/problem+xml` is not asking for data.
 */
function withSuffixesAsBase(accept: string): string {
  if (!accept.includes('+')) return accept;
  return accept.replace(
    /\bapplication\/(?!problem\+)[\w.-]+\+(json|xml)\b/gi,
    (_m, base: string) => `application/${base.toLowerCase()}`,
  );
}
