/**
 * Storing the upstream response while it streams to the client. Like core.cache's tee
 * (../cache/tee.ts) the body flows chunk by chunk with the client's backpressure while a copy
 * accumulates, but with one difference that matters for retries: the client's response ends only
 * after the copy is stored. A client that has the whole response and retries at once therefore
 * gets the replay, never a 409 from a lease that is about to be completed.
 *
 * With a declared Content-Length the client has the whole response at its last byte, before the
 * stream ends (RFC 9112 §6.3: the length, not the close, delimits the body), so that byte is held
 * back until the copy is stored. Not with a length of 0: the headers are the whole response, and
 * they have gone before the body is read.
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
  declaredLength?: number,
): Readable {
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  /** Bytes passed to the client (and held back) so far. */
  let passed = 0;
  /** The body's last byte, held until the copy is stored (declaredLength only). */
  let held: Buffer | undefined;
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
      let out = held === undefined ? chunk : Buffer.concat([held, chunk]);
      held = undefined;
      passed += chunk.length;
      if (declaredLength !== undefined && passed >= declaredLength && out.length > 0) {
        held = out.subarray(out.length - 1);
        out = out.subarray(0, out.length - 1);
      }
      if (out.length > 0) cb(null, out);
      else cb();
    },
    flush(cb) {
      const end = () => {
        if (held !== undefined) this.push(held);
        cb();
      };
      if (chunks === undefined) {
        // Awaited like a store: once the client has the response, the key is free again.
        void giveUp('too-large').then(end);
        return;
      }
      settled = true;
      // `store` reports its own failures; the client gets the response either way.
      store(Buffer.concat(chunks, size)).then(end, end);
    },
  });
  // An upstream failure or a client that leaves destroys both sides: a truncated body is never stored.
  pipeline(body, tee).catch(() => void giveUp('incomplete'));
  tee.once('close', () => void giveUp('incomplete'));
  return tee;
}
