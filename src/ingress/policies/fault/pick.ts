/**
 * Which faults one request gets: a pure function of the config, the request's headers and a random
 * source, so tests can pin the outcome. Rolls are drawn in a fixed order — delay, its jitter (only
 * when `jitterMs > 0`), abort — and every configured, eligible kind draws its roll even at 0 or 100 %,
 * so a scripted random sequence lines up the same way whatever the percentages are.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FaultConfig } from './schema.ts';

/** A number in [0, 1), like `Math.random`. */
export type Random = () => number;

export interface Injection {
  /** Milliseconds to hold the request, after jitter; undefined when no delay was picked. */
  delayMs: number | undefined;
  /** Status to abort with; undefined when no abort was picked. */
  abortStatus: number | undefined;
}

/** `random() < 1` makes 100 always true and `>= 0` makes 0 never true, with no special cases. */
function roll(percent: number, random: Random): boolean {
  return random() * 100 < percent;
}

/**
 * @example
 * pickFaults({ abort: { status: 503, percent: 5 } }, req.headers, Math.random); // about 1 in 20
 */
export function pickFaults(
  config: FaultConfig,
  headers: IncomingHttpHeaders,
  random: Random,
): Injection | undefined {
  let delay = config.delay;
  let abort = config.abort;
  if (config.when !== undefined) {
    // The schema's default fills `header`; field names arrive lowercased from node:http.
    const value = headers[config.when.header.toLowerCase()];
    if (value === undefined) return undefined;
    const named = String(value)
      .toLowerCase()
      .split(',')
      .map((s) => s.trim());
    const wantsDelay = named.includes('delay');
    const wantsAbort = named.includes('abort');
    // A value naming neither (`1`, `on`) asks for every configured fault.
    if (wantsDelay || wantsAbort) {
      if (!wantsDelay) delay = undefined;
      if (!wantsAbort) abort = undefined;
    }
  }
  let delayMs: number | undefined;
  if (delay !== undefined && roll(delay.percent, random)) {
    const spread = delay.jitterMs > 0 ? Math.round((random() * 2 - 1) * delay.jitterMs) : 0;
    delayMs = Math.max(0, delay.ms + spread);
  }
  const abortStatus = abort !== undefined && roll(abort.percent, random) ? abort.status : undefined;
  if (delayMs === undefined && abortStatus === undefined) return undefined;
  return { delayMs, abortStatus };
}

/** The `x-junction-fault` response value, a list per RFC 9110 §5.6.1: `delay=120, abort=503`. */
export function describe(injection: Injection): string {
  const parts: string[] = [];
  if (injection.delayMs !== undefined) parts.push(`delay=${injection.delayMs}`);
  if (injection.abortStatus !== undefined) parts.push(`abort=${injection.abortStatus}`);
  return parts.join(', ');
}
