/**
 * What a partner's response says about its rate limit, for the pacer (docs/resilience.md "Pacing"):
 *
 * - `429 Too Many Requests` (RFC 6585 §4), or `503` with `Retry-After`: throttled; `Retry-After`
 *   (RFC 9110 §10.2.3) says for how long.
 * - `RateLimit: "default";r=50;t=30` and `RateLimit-Policy: "default";q=100;w=60`
 *   (draft-ietf-httpapi-ratelimit-headers-10 §3–4: `r` remaining quota units, `t` seconds until the
 *   quota is restored, `q` quota, `w` window seconds), a Structured Field List (RFC 9651 §3.1).
 * - The older forms still common in the wild: draft-07's `RateLimit: limit=100, remaining=50,
 *   reset=30`, drafts ≤ 06's `RateLimit-Remaining`/`RateLimit-Reset`, and `X-RateLimit-Remaining`/
 *   `X-RateLimit-Reset` (GitHub, Twitter: reset as epoch seconds; others: seconds from now).
 *
 * Pure functions; a value that does not parse is ignored, never an error.
 */
import { parseRetryAfter } from './retry-after.ts';

type Headers = Record<string, string | string[] | undefined>;

export interface PacingFeedback {
  /** The partner refused for rate: slow down (multiplicative decrease) and pause. */
  throttled: boolean;
  /** Send nothing for this long: `Retry-After`, or the reset time when nothing remains. */
  pauseMs: number | undefined;
  /** Spacing that the partner's numbers call for (reset time ÷ remaining), valid for `hintForMs`. */
  hintIntervalMs: number | undefined;
  hintForMs: number | undefined;
  /** The partner's published quota as a spacing (window ÷ quota), valid for one window. */
  policyIntervalMs: number | undefined;
  policyForMs: number | undefined;
}

interface Quota {
  remaining: number;
  resetMs: number | undefined;
}

/**
 * @example
 * pacingFeedback(429, { 'retry-after': '2' }, Date.now()); // { throttled: true, pauseMs: 2000, … }
 * pacingFeedback(200, { ratelimit: '"default";r=5;t=30' }, Date.now()); // hint: 6000 ms apart for 30 s
 */
export function pacingFeedback(status: number, headers: Headers, now: number): PacingFeedback | undefined {
  const retryAfterMs =
    status === 429 || status === 503 ? parseRetryAfter(headers['retry-after'], now) : undefined;
  const throttled = status === 429 || (status === 503 && retryAfterMs !== undefined);
  const quotas = quotasOf(headers, now);
  const policy = policyOf(headers);
  if (!throttled && quotas.length === 0 && policy === undefined) return undefined;
  // The most constraining quota decides: the one with the fewest calls per remaining time.
  let exhaustedMs: number | undefined;
  let hint: { intervalMs: number; forMs: number } | undefined;
  for (const q of quotas) {
    if (q.resetMs === undefined) continue;
    if (q.remaining === 0) exhaustedMs = Math.max(exhaustedMs ?? 0, q.resetMs);
    else if (hint === undefined || q.resetMs / q.remaining > hint.intervalMs)
      hint = { intervalMs: q.resetMs / q.remaining, forMs: q.resetMs };
  }
  return {
    throttled,
    pauseMs: throttled ? (retryAfterMs ?? exhaustedMs) : exhaustedMs,
    hintIntervalMs: hint?.intervalMs,
    hintForMs: hint?.forMs,
    policyIntervalMs: policy?.intervalMs,
    policyForMs: policy?.forMs,
  };
}

function quotasOf(headers: Headers, now: number): Quota[] {
  const combined = field(headers.ratelimit);
  if (combined !== undefined) {
    const members = parseList(combined);
    const legacy = members.find((m) => m.item === 'remaining');
    if (legacy !== undefined) {
      // draft-07: one dictionary, `limit=…, remaining=…, reset=…`.
      const reset = members.find((m) => m.item === 'reset')?.value;
      const remaining = integer(legacy.value);
      return remaining === undefined ? [] : [{ remaining, resetMs: seconds(reset) }];
    }
    return members.flatMap((m) => {
      const remaining = integer(m.params.get('r'));
      return remaining === undefined ? [] : [{ remaining, resetMs: seconds(m.params.get('t')) }];
    });
  }
  for (const prefix of ['ratelimit-', 'x-ratelimit-']) {
    const remaining = integer(field(headers[`${prefix}remaining`]));
    if (remaining !== undefined)
      return [{ remaining, resetMs: resetOf(field(headers[`${prefix}reset`]), now) }];
  }
  return [];
}

function policyOf(headers: Headers): { intervalMs: number; forMs: number } | undefined {
  const value = field(headers['ratelimit-policy']);
  if (value === undefined) return undefined;
  let best: { intervalMs: number; forMs: number } | undefined;
  for (const m of parseList(value)) {
    const q = integer(m.params.get('q'));
    const w = seconds(m.params.get('w'));
    // Only request quotas pace calls (`qu` defaults to "requests", draft-10 §4.1.2).
    const unit = m.params.get('qu');
    if (q === undefined || q === 0 || w === undefined || (unit !== undefined && unit !== 'requests'))
      continue;
    if (best === undefined || w / q > best.intervalMs) best = { intervalMs: w / q, forMs: w };
  }
  return best;
}

/** X-RateLimit-Reset is seconds from now for some APIs and a Unix time for others (GitHub). */
function resetOf(value: string | undefined, now: number): number | undefined {
  const n = integer(value);
  if (n === undefined) return undefined;
  if (n > 1e12) return Math.max(0, n - now); // Unix milliseconds
  if (n > 1e9) return Math.max(0, n * 1000 - now); // Unix seconds
  return n * 1000;
}

interface Member {
  item: string;
  value: string | undefined;
  params: Map<string, string>;
}

/**
 * A lenient reading of an SF List (RFC 9651 §4.2.1) or Dictionary: members split on commas outside
 * strings, each `item` or `key=value`, then `;key=value` parameters. Enough for the rate-limit
 * fields; quotes are dropped from strings.
 */
function parseList(text: string): Member[] {
  return split(text, ',').flatMap((raw) => {
    const [head, ...rest] = split(raw, ';');
    if (head === undefined || head === '') return [];
    const [item, value] = pair(head);
    return [{ item, value, params: new Map(rest.map(pair).map(([k, v]) => [k, v ?? '?1'])) }];
  });
}

function split(text: string, sep: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out;
}

function pair(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  const unquote = (s: string) => s.trim().replace(/^"(.*)"$/, '$1');
  return eq === -1 ? [unquote(text), undefined] : [unquote(text.slice(0, eq)), unquote(text.slice(eq + 1))];
}

function field(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function integer(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,15}$/.test(value.trim()) ? Number(value) : undefined;
}

function seconds(value: string | undefined): number | undefined {
  const n = integer(value);
  return n === undefined ? undefined : n * 1000;
}
