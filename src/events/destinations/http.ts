/**
 * Outbound webhooks: POSTs events to a customer's endpoint, signed per Standard Webhooks, over one
 * undici Pool for the endpoint's origin (STYLE.md §7). Redirects are not followed (undici's Pool never
 * does); http-classify.ts says what each answer means.
 */
import { isIP } from 'node:net';
import { buildConnector, type Dispatcher, Pool } from 'undici';
import { createSigner, type WebhookSigner } from '../signing.ts';
import { forbiddenAddressError, guardedLookup, isForbiddenAddress } from './address-guard.ts';
import { DestinationAborted, DestinationEventInvalid } from './errors.ts';
import { batchBody, type RequestBody, singleBody } from './http-body.ts';
import { classifyError, classifyStatus, type StatusPolicy } from './http-classify.ts';
import { type Classified, reject, retry, stamp } from './outcome.ts';
import type { HttpDestinationConfig } from './schema.ts';
import type { CapturedResponse, DeliveryOutcome, Destination, OutgoingEvent } from './types.ts';

/** Enough of an error page to tell what went wrong, not enough to fill the attempt log. */
export const MAX_ERROR_BODY_BYTES = 4096;
const USER_AGENT = 'Junction-Webhooks/1';
/** Headers Junction sets itself; the schema refuses them in lowercase, this in any case. */
const RESERVED_HEADER = /^(?:webhook-|x-junction-|content-|host$|user-agent$)/i;

export interface HttpDestinationOptions {
  /** Send through this dispatcher (an Agent, a MockAgent) instead of a Pool of our own; not closed by us. */
  dispatcher?: Dispatcher;
  /** Wall clock, epoch ms: the `webhook-timestamp` and HTTP-date `Retry-After` values. */
  now?: () => number;
  /**
   * Keep every answer's header fields and up to this many bytes of its body in the outcome
   * (`response`), for the outbound webhook attempt log (issue #7: ≤ 20 kB). 0: keep nothing.
   */
  captureResponseBytes?: number;
}

/**
 * @example
 * const endpoint = createHttpDestination({ ...Value.Default(HttpDestinationSchema, {
 *   type: 'http', url: 'https://hooks.example.com/junction', secrets: [generateSecret()] }) });
 * const outcome = await endpoint.deliver([event], AbortSignal.timeout(30_000));
 */
export function createHttpDestination(
  config: HttpDestinationConfig,
  options: HttpDestinationOptions = {},
): Destination {
  const url = new URL(config.url);
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`destination ${url.origin}: put credentials in headers, not in the URL`);
  }
  for (const name of Object.keys(config.headers)) {
    if (RESERVED_HEADER.test(name))
      throw new TypeError(`destination ${url.origin}: header ${name} is set by Junction`);
  }
  const path = `${url.pathname}${url.search}`;
  const now = options.now ?? Date.now;
  const capture = options.captureResponseBytes ?? 0;
  const signer: WebhookSigner | undefined =
    config.secrets.length > 0 ? createSigner(config.secrets) : undefined;
  const policy: StatusPolicy = {
    retryStatuses: new Set(config.retryStatuses),
    maxRetryAfterMs: config.maxRetryAfterMs,
  };
  const dispatcher = options.dispatcher ?? newPool(url.origin, config);
  let closing: Promise<void> | undefined;
  let closed = false;

  async function attempt(
    events: readonly OutgoingEvent[],
    signal: AbortSignal | undefined,
  ): Promise<Classified> {
    // A batching subscription always gets arrays, even of one event, so its receiver parses one shape.
    const request = events.length === 1 && !config.batch ? singleBody(events[0]!) : batchBody(events);
    if (request.events.length === 0) return invalidOnly(request);
    let headers: Record<string, string>;
    try {
      headers = requestHeaders(config.headers, request, signer, now());
    } catch (err) {
      return reject(DestinationEventInvalid, (err as Error).message);
    }
    const deadline = AbortSignal.timeout(config.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const res = await dispatcher.request({
        origin: url.origin,
        path,
        method: 'POST',
        headers,
        body: request.body,
        signal: combined,
      });
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      let detail = '';
      let response: CapturedResponse | undefined;
      if (capture > 0) {
        // The status is the receiver's word: a 2xx whose body then breaks off is still delivered.
        const body = ok
          ? await readCapped(res.body, capture).catch(() => '')
          : await readCapped(res.body, capture);
        response = { headers: flatHeaders(res.headers), body };
        if (!ok)
          detail = body.length > MAX_ERROR_BODY_BYTES ? `${body.slice(0, MAX_ERROR_BODY_BYTES)}…` : body;
      } else if (ok) await res.body.dump().catch(() => {});
      else detail = await readCapped(res.body, MAX_ERROR_BODY_BYTES);
      const outcome = classifyStatus(res.statusCode, res.headers, detail, policy, now());
      return withInvalid(response ? { ...outcome, response } : outcome, request);
    } catch (err) {
      return withInvalid(
        classifyError(err, config.timeoutMs, deadline.aborted, signal?.aborted === true),
        request,
      );
    }
  }

  return {
    kind: 'http',
    async deliver(events, signal): Promise<DeliveryOutcome> {
      const start = performance.now();
      if (closed) return stamp(retry(DestinationAborted, 'the destination is closed'), start);
      if (events.length === 0) return { kind: 'delivered', ms: 0 };
      return stamp(await attempt(events, signal), start);
    },
    close() {
      closed = true;
      closing ??= options.dispatcher ? Promise.resolve() : dispatcher.close();
      return closing;
    },
  };
}

function newPool(origin: string, config: HttpDestinationConfig): Pool {
  const connectTimeout = Math.min(config.timeoutMs, 10_000);
  const base = buildConnector({
    timeout: connectTimeout,
    ...(config.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
  });
  return new Pool(origin, {
    connections: config.connections,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    connect: (opts, cb) => {
      // A literal IP in the URL is never looked up, so the lookup guard cannot see it.
      const host = opts.hostname.replace(/^\[|\]$/g, '');
      if (!config.allowPrivateNetworks && isIP(host) !== 0 && isForbiddenAddress(host)) {
        (cb as (err: Error | null, socket: null) => void)(forbiddenAddressError(host, host), null);
        return;
      }
      base(opts, cb);
    },
  });
}

function requestHeaders(
  extra: Record<string, string>,
  request: RequestBody,
  signer: WebhookSigner | undefined,
  now: number,
): Record<string, string> {
  const headers: Record<string, string> = {
    ...extra,
    'user-agent': USER_AGENT,
    'content-type': request.contentType,
  };
  // webhook-id even unsigned: it is the receiver's idempotency key (Standard Webhooks "webhook-id").
  Object.assign(
    headers,
    signer
      ? signer.headers(request.id, request.body, now)
      : { 'webhook-id': request.id, 'webhook-timestamp': String(Math.floor(now / 1000)) },
  );
  const types = new Set(request.events.map((e) => e.type));
  const sources = new Set(request.events.map((e) => e.source));
  if (types.size === 1) headers['x-junction-event-type'] = [...types][0]!;
  if (sources.size === 1) headers['x-junction-source'] = [...sources][0]!;
  if (request.batch) headers['x-junction-batch-size'] = String(request.events.length);
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[\t\x20-\x7e]*$/.test(value))
      throw new TypeError(`header ${name} would hold characters HTTP forbids`);
  }
  return headers;
}

/** Reads at most `limit` bytes of an error answer as text; a longer body is cut and the socket dropped. */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  limit: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let cut = false;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) {
      cut = true;
      break; // leaving the loop destroys the body
    }
  }
  const text = Buffer.concat(chunks).subarray(0, limit).toString('utf8').trim();
  return cut ? `${text}…` : text;
}

/** undici's header object as the attempt log stores it: one string per lowercase name. */
function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Every event of the batch failed to encode: nothing was sent. */
function invalidOnly(request: RequestBody): Classified {
  const first = request.invalid[0]!;
  const error = `event ${first.id}: ${first.error}`;
  return request.invalid.length === 1
    ? reject(DestinationEventInvalid, error)
    : reject(DestinationEventInvalid, `${error} (and ${request.invalid.length - 1} more)`, {
        failedIds: request.invalid.map((i) => i.id),
      });
}

/**
 * A batch sent without its unencodable events: those are rejected whatever the answer was, so the
 * worker dead-letters them and, on success, completes the rest.
 */
function withInvalid(outcome: Classified, request: RequestBody): Classified {
  if (request.invalid.length === 0) return outcome;
  const invalidIds = request.invalid.map((i) => i.id);
  if (outcome.kind === 'delivered') {
    const error = request.invalid.map((i) => `event ${i.id}: ${i.error}`).join('; ');
    return reject(DestinationEventInvalid, error, { failedIds: invalidIds });
  }
  return { ...outcome, failedIds: [...request.events.map((e) => e.id), ...invalidIds] };
}
