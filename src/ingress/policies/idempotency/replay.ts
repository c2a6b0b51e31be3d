/**
 * What of a response is stored, and how it is replayed. The status and body are kept exactly; of the
 * header fields, the end-to-end ones that describe the result (Content-Type, Location, ETag, the
 * service's own fields) are kept and these are not:
 *
 * - hop-by-hop fields and those named in `Connection` (RFC 9110 §7.6.1): they belonged to that hop;
 * - `Content-Length`: recomputed for the replay; `Date`: a replay is a new message (RFC 9110 §6.6.1);
 * - `Via` and `X-Request-Id`: the gateway writes its own for each request;
 * - `Set-Cookie`: a cookie is state of the client that received it; replaying it to whoever retries
 *   (an anonymous scope may be shared) could hand one client's session to another.
 *
 * The replay carries `Idempotent-Replayed: true`, Stripe's header, so a client can tell.
 */
import type { Answer } from '../../../core/policy.ts';
import type { StoredResponse } from './store.ts';

const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'date',
  'via',
  'x-request-id',
  'set-cookie',
]);

export const REPLAYED_HEADER = 'idempotent-replayed';

export function storableHeaders(
  headers: Record<string, string | string[] | undefined>,
): StoredResponse['headers'] {
  const named = headers.connection;
  const connection = new Set(
    (Array.isArray(named) ? named.join(',') : (named ?? ''))
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: StoredResponse['headers'] = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED.has(name) || connection.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The stored response as an answer, byte for byte; no body at all where HTTP allows none. */
export function replayAnswer(stored: StoredResponse): Answer {
  const bodiless = stored.status === 204 || stored.status === 304;
  return {
    status: stored.status,
    headers: { ...stored.headers, [REPLAYED_HEADER]: 'true' },
    body: bodiless ? null : stored.body,
  };
}
