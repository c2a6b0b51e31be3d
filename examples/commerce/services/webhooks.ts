/**
 * Webhooks as the demo's services see them, written out with node:crypto so the demo shows what
 * goes over the wire (and, like the rest of the services, imports nothing from Junction's `src/`):
 *
 * - `stripeSignature`: the payments service plays the provider and signs its events as Stripe does
 *   (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
 *   docs.stripe.com/webhooks#verify-manually); the `whsec_…` string itself is the key.
 * - `sendWebhook`: posts one event the way a provider does — re-signed with a fresh timestamp on every
 *   attempt, retried with exponential backoff on anything but a 2xx.
 * - `verifyStandardWebhook`: the orders service checks what the gateway forwards, signed the Standard
 *   Webhooks way (`webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, the
 *   key being the base64 after `whsec_`; standardwebhooks.com, spec v1).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * @example
 * stripeSignature('whsec_x', '{"id":"evt_1"}', 1_700_000_000); // 't=1700000000,v1=5d0c…'
 */
export function stripeSignature(secret: string, body: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export interface WebhookAttempt {
  attempt: number;
  /** The receiver's status; 0 when there was no answer (refused, reset, timed out). */
  status: number;
  /** The receiver's answer (cut to 500 characters), or the network error. */
  body: string;
}

export interface SendWebhookOptions {
  url: string;
  secret: string;
  body: string;
  /** Attempts in all, the first one included. */
  attempts: number;
  /** Wait before the second attempt; doubled for each one after. */
  backoffMs: number;
  timeoutMs?: number;
  /** Stops retrying (the service is closing). */
  signal?: AbortSignal;
  /** Seconds, like Stripe's `t`; tests move it. */
  now?: () => number;
  onAttempt?: (a: WebhookAttempt) => void;
}

/**
 * Posts a Stripe-signed event until a 2xx (Stripe retries any other answer, for up to three days; the
 * demo for seconds). Resolves with the last attempt — never rejects.
 * @example
 * const last = await sendWebhook({ url: 'http://127.0.0.1:8080/hooks/stripe', secret, body, attempts: 5, backoffMs: 500 });
 * last.status; // 202 (stored) or 200 (a duplicate the gateway already had)
 */
export async function sendWebhook(options: SendWebhookOptions): Promise<WebhookAttempt> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  let last: WebhookAttempt = { attempt: 0, status: 0, body: 'not sent' };
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    if (attempt > 1) {
      const waited = await delay(options.backoffMs * 2 ** (attempt - 2), options.signal);
      if (!waited) break;
    }
    if (options.signal?.aborted) break;
    last = { attempt, ...(await postOnce(options, now())) };
    options.onAttempt?.(last);
    if (last.status >= 200 && last.status < 300) break;
  }
  return last;
}

async function postOnce(options: SendWebhookOptions, timestamp: number) {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  try {
    const res = await fetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'stripe-signature': stripeSignature(options.secret, options.body, timestamp),
      },
      body: options.body,
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    });
    return { status: res.status, body: (await res.text()).slice(0, 500) };
  } catch (err) {
    return { status: 0, body: String((err as Error).cause ?? err) };
  }
}

/** Resolves true after `ms`, or false at once when `signal` aborts. */
function delay(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type StandardWebhookCheck =
  | { ok: true; id: string }
  | { ok: false; reason: 'missing_headers' | 'stale_timestamp' | 'bad_signature' };

/**
 * Checks a Standard Webhooks request: the three `webhook-*` headers, a timestamp within `toleranceS`
 * (past or future), and one `v1,` signature matching, compared in constant time.
 * @example
 * const check = verifyStandardWebhook(secret, req.headers, rawBody);
 * if (!check.ok) return res.writeHead(401).end();
 */
export function verifyStandardWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  options: { toleranceS?: number; nowS?: number } = {},
): StandardWebhookCheck {
  const header = (name: string) => {
    const v = headers[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  if (id === undefined || timestamp === undefined || signatures === undefined) {
    return { ok: false, reason: 'missing_headers' };
  }
  const nowS = options.nowS ?? Math.floor(Date.now() / 1000);
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowS - Number(timestamp)) > (options.toleranceS ?? 300)) {
    return { ok: false, reason: 'stale_timestamp' };
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
  const matches = signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',', 2);
    if (version !== 'v1' || sig === undefined) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true, id } : { ok: false, reason: 'bad_signature' };
}
