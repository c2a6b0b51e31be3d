/**
 * A customer's webhook receiver that fails about a third of its requests (500, 503, or the connection
 * dropped without an answer) and answers 204 otherwise, on a real HTTP server on port 0. Every request
 * is recorded with its `webhook-id`, the `event_id` of its payload, what was answered and whether its
 * Standard Webhooks signature verified (the independent `standardwebhooks` package, with the key the
 * admin API showed for the endpoint).
 *
 * The fate of a request is a hash of (seed, receiver, event_id, how many requests for that event_id
 * this receiver saw before), not a draw from a shared random stream: deliveries arrive in whatever
 * order the worker's slots free up, and a stream would give a message another fate on every run. So a
 * seed reproduces every answer, up to the requests a SIGKILL repeats.
 */
import { createHash } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startReceiver } from './receiver.ts';

export type Answer = 204 | 500 | 503 | 'drop';

export interface Hit {
  webhookId: string;
  /** The payload's `event_id` (read even when the signature did not verify). */
  eventId: string;
  answer: Answer;
  /** The signature verified with the endpoint's key. */
  valid: boolean;
}

export interface FlakyReceiver {
  url: string;
  hits: Hit[];
  /** The signing key the admin API shows for the endpoint (`GET …/secret`); set before sending. */
  setKey(key: string): void;
}

const FAILURES: readonly Answer[] = [500, 503, 'drop'];

/** A number in [0, 1) fixed by its parts; two more bytes pick the failure. */
export function fate(...parts: (string | number)[]): { draw: number; pick: number } {
  const digest = createHash('sha256').update(parts.join(':')).digest();
  return { draw: digest.readUInt32BE(0) / 2 ** 32, pick: digest.readUInt16BE(4) };
}

/**
 * @example
 * const rx = await startFlakyReceiver(t, seed, 0);
 * const ep = await admin.createEndpoint(app.id, { url: rx.url });
 * rx.setKey((await admin.endpointSecret(app.id, ep.id)).key);
 */
export async function startFlakyReceiver(
  t: TestContext,
  seed: number,
  index: number,
  failureShare = 1 / 3,
): Promise<FlakyReceiver> {
  const hits: Hit[] = [];
  const seen = new Map<string, number>();
  let verifier: Webhook | undefined;
  const { url } = await startReceiver(
    t,
    (res, { headers: received, body }, req) => {
      const headers = received as Record<string, string>;
      let valid = false;
      let payload: { event_id?: unknown } | undefined;
      try {
        payload = verifier?.verify(body, headers) as typeof payload;
        valid = verifier !== undefined;
      } catch {
        // recorded as invalid below; the run's assertions fail on it
      }
      if (payload === undefined) {
        try {
          payload = JSON.parse(body) as typeof payload;
        } catch {
          payload = {};
        }
      }
      const eventId = String(payload?.event_id);
      const n = seen.get(eventId) ?? 0;
      seen.set(eventId, n + 1);
      const { draw, pick } = fate(seed, index, eventId, n);
      const answer = draw < failureShare ? FAILURES[pick % FAILURES.length]! : 204;
      hits.push({ webhookId: headers['webhook-id'] ?? '', eventId, answer, valid });
      if (answer === 'drop') {
        req.socket.destroy();
        return;
      }
      res.statusCode = answer;
      res.end();
    },
    `/hooks/${index}`,
  );
  return {
    url,
    hits,
    setKey(key) {
      verifier = new Webhook(key);
    },
  };
}
