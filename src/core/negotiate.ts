/**
 * Content negotiation (Q29, RFC 9110 §12.5.1) over the `Accept` field, with `negotiator` (jshttp,
 * the parser Express and Koa use) doing the q-value and specificity ranking.
 */
import Negotiator from 'negotiator';

export type Format = 'json' | 'xml';

const PROBLEM_TYPES = [
  'application/problem+json',
  'application/json',
  'application/problem+xml',
  'application/xml',
  'text/xml',
];
const DATA_TYPES = ['application/json', 'application/xml', 'text/xml'];

function formatOf(mediaType: string | undefined): Format | undefined {
  if (mediaType === undefined) return undefined;
  return mediaType.endsWith('xml') ? 'xml' : 'json';
}

/**
 * The format for a problem document the gateway renders itself. A client that accepts neither still
 * gets JSON: replacing a 502 by a 406 would hide what went wrong (RFC 9110 §15.5.7 allows sending a
 * representation the client did not ask for). No `Accept` means anything is acceptable.
 */
export function problemFormat(accept: string | undefined): Format {
  if (accept === undefined || accept === '') return 'json';
  return formatOf(new Negotiator({ headers: { accept } }).mediaType(PROBLEM_TYPES)) ?? 'json';
}

/**
 * The format for data the gateway renders or converts, or `undefined` when the client accepts
 * neither JSON nor XML (the caller answers 406). Ties go to JSON (listed first).
 */
export function dataFormat(accept: string | undefined): Format | undefined {
  if (accept === undefined || accept === '') return 'json';
  return formatOf(new Negotiator({ headers: { accept } }).mediaType(DATA_TYPES));
}
