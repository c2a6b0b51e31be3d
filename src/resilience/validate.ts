/**
 * Option checks run once when a policy is built from config, never per call. Delays are bounded by
 * the largest value `setTimeout` honours: Node clamps anything above 2^31−1 ms to 1 ms, which would
 * turn a long wait into a busy retry.
 */

export const MAX_DELAY_MS = 2_147_483_647;

export function checkDelay(name: string, value: number, { allowZero = true } = {}): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || value > MAX_DELAY_MS) {
    const low = allowZero ? '0' : 'above 0';
    throw new RangeError(
      `${name} must be a number of milliseconds from ${low} to ${MAX_DELAY_MS}, got ${value}`,
    );
  }
  return value;
}

export function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
  }
  return value;
}

export function checkRatio(name: string, value: number, max: number): number {
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be a number from 0 to ${max}, got ${value}`);
  }
  return value;
}
