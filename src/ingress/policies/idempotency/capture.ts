/**
 * Storing the upstream response while it streams to the client. Like core.cache's tee
 * (../cache/tee.ts) the body flows chunk by chunk with the client's backpressure while a copy
 * accumulates, but with one difference that matters for retries: the client's response ends only
 * after the copy is stored. A client that has the whole response and retries at once therefore
 * gets the replay, never a 409 from a lease that is about to be completed.
 */
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type Abandoned = 'too-large' | 'incomplete';

/**
 * @example
 * const body = captureBody(res.body, 1 << 20, (buf) => store.complete(...), (why) => store.release(...));
 */
export function captureBody(
  body: Readable,
  maxBytes: number,
  store: (complete: Buffer) => Promise<void>,
  abandon: (why: Abandoned) => Promise<void> | void,
): Readable {
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  let settled = false;
  const giveUp = async (why: Abandoned) => {
    if (settled) return;
    settled = true;
    try {
      await abandon(why);
    } catch {
      // `abandon` reports its own failures.
    }
  };
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (chunks !== undefined) {
        size += chunk.length;
        if (size > maxBytes) chunks = undefined;
        else chunks.push(chunk);
      }
      cb(null, chunk);
    },
    flush(cb) {
      if (chunks === undefined) {
        // Awaited like a store: once the client has the response, the key is free again.
        void giveUp('too-large').then(() => cb());
        return;
      }
      settled = true;
      // `store` reports its own failures; the client gets the response either way.
      store(Buffer.concat(chunks, size)).then(
        () => cb(),
        () => cb(),
      );
    },
  });
  // An upstream failure or a client that leaves destroys both sides: a truncated body is never stored.
  pipeline(body, tee).catch(() => void giveUp('incomplete'));
  tee.once('close', () => void giveUp('incomplete'));
  return tee;
}
