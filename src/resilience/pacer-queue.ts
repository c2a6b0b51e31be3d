/**
 * The pacer's waiting room: calls holding a reserved slot, in slot order (FIFO, since slots are
 * handed out in order). A call that leaves early gives its slot to the one behind it, and so on down
 * the line, so the queue closes up like a real one and only the last slot is left over.
 */
import type { Clock } from './types.ts';

export interface Slot {
  /** When the slot comes, on the local clock. */
  at: number;
  /** The store's name for it, for `release`. */
  token: number | string;
  /** The spacing it was reserved with, which `release` takes back. */
  intervalMs: number;
}

interface Waiter extends Slot {
  timer: unknown;
  go(): void;
  again(): void;
}

export interface SlotQueue {
  readonly length: number;
  /** When the last waiting call's slot comes; `undefined` when none waits. */
  lastAt(): number | undefined;
  /**
   * Waits for the slot: true when it came, false when `voidBefore` took it away (reserve again).
   * Rejects with the signal's reason when it aborts; the leftover slot goes to `release`.
   */
  wait(slot: Slot, signal: AbortSignal): Promise<boolean>;
  /** A pause until `until` voids the slots before it: those calls resolve false, in order. */
  voidBefore(until: number): void;
}

export function createSlotQueue(clock: Clock, release: (slot: Slot) => void): SlotQueue {
  const queue: Waiter[] = [];

  const arm = (w: Waiter) => {
    w.timer = clock.setTimeout(w.go, Math.max(0, w.at - clock.now()));
  };
  const remove = (w: Waiter) => {
    clock.clearTimeout(w.timer);
    const i = queue.indexOf(w);
    if (i !== -1) queue.splice(i, 1);
    return i;
  };

  /** Those behind the leaver each take the slot before theirs; the last slot is left over. */
  const leave = (w: Waiter) => {
    const i = queue.indexOf(w);
    if (i === -1) return;
    let freed: Slot = { at: w.at, token: w.token, intervalMs: w.intervalMs };
    for (let j = i + 1; j < queue.length; j++) {
      const next = queue[j]!;
      const own: Slot = { at: next.at, token: next.token, intervalMs: next.intervalMs };
      Object.assign(next, freed);
      clock.clearTimeout(next.timer);
      arm(next);
      freed = own;
    }
    remove(w);
    release(freed);
  };

  return {
    get length() {
      return queue.length;
    },
    lastAt: () => queue.at(-1)?.at,
    wait: (slot, signal) =>
      new Promise((resolve, reject) => {
        const onAbort = () => {
          leave(w);
          reject(signal.reason);
        };
        const done = (came: boolean) => {
          remove(w);
          signal.removeEventListener('abort', onAbort);
          resolve(came);
        };
        const w: Waiter = { ...slot, timer: undefined, go: () => done(true), again: () => done(false) };
        signal.addEventListener('abort', onAbort, { once: true });
        queue.push(w);
        arm(w);
      }),
    voidBefore(until) {
      for (const w of queue.filter((x) => x.at < until)) w.again();
    },
  };
}
