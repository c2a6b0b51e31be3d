/**
 * Building and combining outcomes. A destination classifies first (`Classified`, no time yet) and
 * stamps the attempt's duration last. Brokers take the events of a batch one message at a time, so
 * part of a batch can succeed; `combine` reports which events failed so the worker completes the others.
 */
import type { ErrorSpec } from '../../core/errors.ts';
import { DestinationAborted, DestinationUnreachable } from './errors.ts';
import type { DeliveryOutcome, Reject, Retry } from './types.ts';

type Untimed<T> = T extends unknown ? Omit<T, 'ms'> : never;
export type Classified = Untimed<DeliveryOutcome>;

export function retry(
  spec: ErrorSpec,
  error: string,
  extra: Partial<Omit<Retry, 'kind' | 'code' | 'error' | 'ms'>> = {},
): Untimed<Retry> {
  return { kind: 'retry', code: spec.code, error, ...extra };
}

export function reject(
  spec: ErrorSpec,
  error: string,
  extra: Partial<Omit<Reject, 'kind' | 'code' | 'error' | 'ms'>> = {},
): Untimed<Reject> {
  return { kind: 'reject', code: spec.code, error, ...extra };
}

/** Adds the time since `start` (a `performance.now()` reading), rounded to 0.1 ms. */
export function stamp(outcome: Classified, start: number): DeliveryOutcome {
  return { ...outcome, ms: Math.round((performance.now() - start) * 10) / 10 };
}

/**
 * One outcome for a batch whose events went out as separate messages. Any event to retry makes the
 * batch `retry`, listing every event not delivered, refused ones too: resent alone they are refused
 * again and only then dead-lettered, so a poison event never takes good ones to the dead-letter queue.
 * With nothing to retry, refused events make it `reject`, listing them.
 */
export function combine(results: ReadonlyArray<{ id: string; outcome: Classified }>): Classified {
  const failed = results.filter((r) => r.outcome.kind !== 'delivered');
  if (failed.length === 0) return { kind: 'delivered' };
  const first = (failed.find((r) => r.outcome.kind === 'retry') ?? failed[0]!).outcome;
  if (first.kind === 'delivered' || results.length === 1) return first;
  const error = failed.length === 1 ? first.error : `${first.error} (and ${failed.length - 1} more failed)`;
  return { ...first, error, failedIds: failed.map((r) => r.id) };
}

/**
 * The outcome of one event of a batch: `delivered` when the batch failed only for other events
 * (`failedIds` does not name it), otherwise the batch's outcome without `failedIds`.
 */
export function outcomeOf(id: string, outcome: DeliveryOutcome): DeliveryOutcome {
  if (outcome.kind === 'delivered') return outcome;
  const { failedIds, ...rest } = outcome;
  if (failedIds && !failedIds.includes(id)) return { kind: 'delivered', ms: outcome.ms };
  return rest;
}

/**
 * `work`'s outcome, or `retry` with `destination_aborted` as soon as `signal` aborts. For brokers,
 * whose publishes cannot be withdrawn: the abort only stops the wait. A message that lands anyway is
 * sent again later under the same id, which JetStream drops and RabbitMQ consumers dedupe on.
 */
export function untilAborted(
  work: Promise<Classified>,
  signal: AbortSignal | undefined,
): Promise<Classified> {
  const aborted = () => retry(DestinationAborted, 'the delivery was aborted before it was confirmed');
  const failed = (err: unknown) =>
    retry(DestinationUnreachable, err instanceof Error ? err.message : String(err));
  if (!signal) return work.catch(failed);
  if (signal.aborted) return Promise.resolve(aborted());
  return new Promise((resolve) => {
    const onAbort = () => resolve(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    work
      .catch(failed)
      .then(resolve)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}
