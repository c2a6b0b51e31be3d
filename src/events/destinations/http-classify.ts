/**
 * What an HTTP answer or failure means for the events (docs/events-delivery.md "HTTP outcomes"):
 *
 * | answer                                        | outcome                              |
 * |-----------------------------------------------|--------------------------------------|
 * | 2xx                                           | delivered                            |
 * | 3xx (never followed)                          | retry                                |
 * | 408, 425, 429 (`retryStatuses`), 5xx          | retry, after `Retry-After` if given  |
 * | 410                                           | reject, `destination_gone`           |
 * | any other 4xx (400, 401, 404, 413, 422, …)    | reject                               |
 * | timeout, refused, reset, DNS failure          | retry                                |
 * | private address (guard on)                    | reject                               |
 *
 * 3xx is a failure, as for Svix and Standard Webhooks ("2xx is success"); it is retried because a
 * redirect says where the endpoint is, not that the event is bad — the customer can fix the URL while
 * retries run. Following it would send the signed payload to an address nobody configured, past the
 * private-address guard.
 */
import { parseRetryAfter } from '../../resilience/index.ts';
import { ADDRESS_FORBIDDEN } from './address-guard.ts';
import {
  DestinationAborted,
  DestinationAddressForbidden,
  DestinationGone,
  DestinationStatus,
  DestinationTimeout,
  DestinationUnreachable,
} from './errors.ts';
import { type Classified, reject, retry } from './outcome.ts';

export interface StatusPolicy {
  /** 4xx statuses to retry; other 4xx are rejected (5xx and 3xx are always retried). */
  retryStatuses: ReadonlySet<number>;
  /** The longest `Retry-After` taken as given; a longer one is cut to this. */
  maxRetryAfterMs: number;
}

export function classifyStatus(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  detail: string,
  policy: StatusPolicy,
  now: number,
): Classified {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  const error = detail === '' ? `HTTP ${status}` : `HTTP ${status}: ${detail}`;
  if (status === 410) return reject(DestinationGone, error, { status });
  if (status >= 400 && status < 500 && !policy.retryStatuses.has(status)) {
    return reject(DestinationStatus, error, { status });
  }
  const redirect = status >= 300 && status < 400 && typeof headers.location === 'string';
  const message = redirect ? `${error} (redirect to ${headers.location} not followed)` : error;
  const after = parseRetryAfter(headers['retry-after'], now);
  return retry(DestinationStatus, message, {
    status,
    ...(after === undefined ? {} : { retryAfterMs: Math.min(after, policy.maxRetryAfterMs) }),
  });
}

export function classifyError(
  err: unknown,
  timeoutMs: number,
  timedOut: boolean,
  aborted: boolean,
): Classified {
  if (timedOut) return retry(DestinationTimeout, `no answer within ${timeoutMs} ms`);
  if (aborted) return retry(DestinationAborted, 'the delivery was aborted before the endpoint answered');
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === ADDRESS_FORBIDDEN) return reject(DestinationAddressForbidden, message);
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return retry(DestinationTimeout, `${code}: ${message}`);
  }
  // Refused, reset, DNS failures (hookdeck/outpost#314: they are transient too) and anything unknown.
  return retry(DestinationUnreachable, code === undefined ? message : `${code}: ${message}`);
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
