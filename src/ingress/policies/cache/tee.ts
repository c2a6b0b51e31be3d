/**
 * Storing without buffering: the upstream body flows to the client chunk by chunk, with the
 * client's backpressure, while a copy accumulates for the store. Past `maxBytes` the copy is dropped
 * and the rest only streams through; an upstream error or a client that leaves means no entry, since
 * a truncated body must never be served as a complete one.
 */
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * @example
 * const body = teeForStore(res.body, 1 << 20, (buf) => buf && store.put(...));
 */
export function teeForStore(
  body: Readable,
  maxBytes: number,
  done: (complete: Buffer | undefined) => void,
): Readable {
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  let settled = false;
  const settle = (buf: Buffer | undefined) => {
    if (settled) return;
    settled = true;
    done(buf);
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
      settle(chunks === undefined ? undefined : Buffer.concat(chunks, size));
      cb();
    },
  });
  // `pipeline` destroys both sides on an error either way: an upstream failure truncates the client
  // response (send.ts cuts the connection), a client that leaves stops the upstream read.
  pipeline(body, tee).catch(() => settle(undefined));
  tee.once('close', () => settle(undefined));
  return tee;
}

/** Reads a whole body for the store (background refresh: no client waits on it). */
export async function readForStore(body: Readable, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}
