/**
 * `Retry-After` (RFC 9110 §10.2.3): `Retry-After = HTTP-date / delay-seconds`. Upstreams send it on
 * 503 and 429 to say when a retry can succeed; retrying sooner only adds load (the retry policy waits
 * the longer of its backoff and this).
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const MONTH = `(${MONTHS.join('|')})`;
// RFC 9110 §5.6.7: recipients MUST accept all three forms; senders use only the first.
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * Milliseconds to wait according to a `Retry-After` value, relative to `now` (epoch ms). A date in
 * the past gives 0 (retry now). Anything that is not exactly one delay-seconds or HTTP-date —
 * negative or fractional numbers, other date formats, several values — gives `undefined`, so the
 * caller falls back to its own backoff. Capping a very long wait is the caller's decision.
 *
 * @example
 * parseRetryAfter('120', clock.now()); // 120_000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27, 30)); // 30_000
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  now: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    // A singleton field repeated is invalid (RFC 9110 §5.5); guessing which one counts would be worse.
    return value.length === 1 ? parseRetryAfter(value[0], now) : undefined;
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  const date = parseHttpDate(text, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/** An HTTP-date (RFC 9110 §5.6.7) as epoch milliseconds, or `undefined` when it is not one. */
export function parseHttpDate(text: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = RFC850_DATE.exec(text);
  if (m) return utc(fullYear(Number(m[3]), now), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!);
  return undefined;
}

/**
 * RFC 9110 §5.6.7: a two-digit year that appears more than 50 years in the future means the most
 * recent past year with the same last two digits.
 */
function fullYear(twoDigits: number, now: number): number {
  const thisYear = new Date(now).getUTCFullYear();
  const year = thisYear - (thisYear % 100) + twoDigits;
  return year > thisYear + 50 ? year - 100 : year;
}

function utc(
  year: number,
  month: string,
  day: number,
  hh: string,
  mm: string,
  ss: string,
): number | undefined {
  const monthIndex = MONTHS.indexOf(month);
  const [hour, minute, second] = [Number(hh), Number(mm), Number(ss)];
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const midnight = Date.UTC(year, monthIndex, day);
  // Date.UTC rolls 31 Feb into March; a date that does not exist is garbage, not a retry time.
  const check = new Date(midnight);
  if (check.getUTCMonth() !== monthIndex || check.getUTCDate() !== day) return undefined;
  // Second 60 is a leap second, which RFC 9110 §5.6.7 allows; it counts as the next minute's first.
  return midnight + ((hour * 60 + minute) * 60 + second) * 1000;
}
