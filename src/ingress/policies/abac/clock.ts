/**
 * `context.time` for Cedar: the local time in the route's time zone. Cedar policies compare numbers
 * (`context.time.hour < 18`), so the hour, minute, minute of the day, ISO weekday (1 = Monday) and
 * date are given as such. Computed once per minute: zone offsets change on minute boundaries.
 */
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Throws a RangeError for an unknown time zone (a config error at load). */
export function localTime(timeZone: string): (nowMs: number) => Record<string, CedarValueJson> {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'short',
  });
  let minute = Number.NaN;
  let last: Record<string, CedarValueJson> = {};
  return (nowMs) => {
    const m = Math.floor(nowMs / 60_000);
    if (m === minute) return last;
    const parts: Record<string, string> = {};
    for (const p of format.formatToParts(nowMs)) parts[p.type] = p.value;
    const hour = Number(parts.hour);
    const min = Number(parts.minute);
    minute = m;
    last = {
      hour,
      minute: min,
      minuteOfDay: hour * 60 + min,
      weekday: WEEKDAYS[parts.weekday!] ?? 0,
      date: `${parts.year}-${parts.month}-${parts.day}`,
    };
    return last;
  };
}
