/**
 * What NATS and RabbitMQ sources share: a message is acknowledged only after the intake resolved,
 * so an acknowledged message is on disk (the broker's copy is the only one until then); and a close
 * waits for the accepts in flight, so none is cut between "stored" and "acknowledged".
 */
import { isJunctionError } from '../../core/errors.ts';
import { EventInvalid } from '../errors.ts';
import type { EventIntake, IncomingEvent } from '../pipeline.ts';

export type Verdict =
  | { kind: 'stored'; duplicate: boolean }
  /** Try again later: the store is down or busy. */
  | { kind: 'retry'; err: unknown }
  /** Never storable as it is (`event_invalid`): redelivering it would only loop (a poison message). */
  | { kind: 'reject'; err: unknown };

export async function acceptMessage(intake: EventIntake, event: IncomingEvent): Promise<Verdict> {
  try {
    const r = await intake.accept(event);
    return { kind: 'stored', duplicate: r.duplicate };
  } catch (err) {
    return isJunctionError(err) && err.code === EventInvalid.code
      ? { kind: 'reject', err }
      : { kind: 'retry', err };
  }
}

/** Messages being handled: bounded, and awaitable as a whole on close. */
export class InFlight {
  readonly #running = new Set<Promise<void>>();
  readonly #limit: number;
  #freed: (() => void) | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#running.size;
  }

  /** Starts `work`; resolves once there is room for the next one. */
  async run(work: () => Promise<void>): Promise<void> {
    const p = work()
      .catch(() => {})
      .finally(() => {
        this.#running.delete(p);
        this.#freed?.();
      });
    this.#running.add(p);
    while (this.#running.size >= this.#limit) {
      await new Promise<void>((resolve) => {
        this.#freed = resolve;
      });
    }
  }

  /** Resolves when everything started so far has finished. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}

/** Header fields as strings, names lower-cased; several values joined as HTTP does (RFC 9110 §5.3). */
export function headerRecord(entries: Iterable<[string, unknown]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (value === undefined || value === null) continue;
    const text = Buffer.isBuffer(value)
      ? value.toString('utf8')
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
    const key = name.toLowerCase();
    out[key] = key in out ? `${out[key]}, ${text}` : text;
  }
  return out;
}
