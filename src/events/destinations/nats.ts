/**
 * NATS JetStream destination: each event is one message on a subject built from a template
 * (`events.{type}`), published with `Nats-Msg-Id` = event id and confirmed by the stream's PubAck.
 * A resent event inside the stream's duplicate window (2 min by default) is acknowledged as a duplicate
 * and not stored twice (NATS docs, "JetStream Model Deep Dive: Message Deduplication"), so our
 * at-least-once retries come out exactly once in the stream.
 */
import { connect, type JetStreamClient, type NatsConnection, headers as natsHeaders } from 'nats';
import { fullJitterDelay } from '../../resilience/index.ts';
import {
  DestinationAborted,
  DestinationEventInvalid,
  DestinationRefused,
  DestinationTimeout,
  DestinationUnreachable,
  DestinationUnroutable,
} from './errors.ts';
import { type Classified, combine, reject, retry, stamp, untilAborted } from './outcome.ts';
import type { NatsDestinationConfig } from './schema.ts';
import { compileTemplate } from './template.ts';
import type { DeliveryOutcome, Destination, OutgoingEvent } from './types.ts';

/** Reconnect waits: full jitter from 250 ms up to 10 s, reset after each successful reconnect. */
const RECONNECT = { baseMs: 250, capMs: 10_000 };
/** Subject tokens are separated by `.`; whitespace and the wildcards `*` and `>` may not appear. */
const SUBJECT = /^[^\s.*>]+(?:\.[^\s.*>]+)*$/;
/** Client-side errors that mean this message can never be published as it is. */
const MALFORMED = new Set(['MAX_PAYLOAD_EXCEEDED', 'BAD_SUBJECT', 'BAD_PAYLOAD', 'BAD_HEADER']);

interface Link {
  nc: NatsConnection;
  js: JetStreamClient;
}

/**
 * @example
 * const stream = createNatsDestination({ type: 'nats', servers: ['nats://127.0.0.1:4222'],
 *   subject: 'events.{type}', timeoutMs: 5_000 });
 * await stream.deliver([event]); // { kind: 'delivered', ms: 1.2 }
 */
export function createNatsDestination(config: NatsDestinationConfig): Destination {
  const subjectOf = compileTemplate(config.subject);
  let link: Promise<Link> | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;

  function open(): Promise<Link> {
    link ??= (async () => {
      let attempt = 0;
      const nc = await connect({
        servers: config.servers,
        name: 'junction-destination',
        timeout: config.timeoutMs,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () =>
          fullJitterDelay(++attempt, RECONNECT.baseMs, RECONNECT.capMs, Math.random),
        ...(config.user === undefined ? {} : { user: config.user, pass: config.pass }),
        ...(config.token === undefined ? {} : { token: config.token }),
      });
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'reconnect') attempt = 0;
      })().catch(() => {});
      // Closed for good (not a reconnect): connect afresh on the next delivery.
      void nc.closed().then(() => {
        link = undefined;
      });
      return { nc, js: nc.jetstream({ timeout: config.timeoutMs }) };
    })();
    link.catch(() => {
      link = undefined;
    });
    return link;
  }

  async function publish(js: JetStreamClient, event: OutgoingEvent): Promise<Classified> {
    const subject = subjectOf(event);
    if (!SUBJECT.test(subject)) {
      return reject(DestinationEventInvalid, `${JSON.stringify(subject)} is not a valid NATS subject`);
    }
    const h = natsHeaders();
    h.set('content-type', event.contentType);
    h.set('x-junction-event-type', event.type);
    h.set('x-junction-source', event.source);
    const data = typeof event.payload === 'string' ? Buffer.from(event.payload) : event.payload;
    try {
      await js.publish(subject, data, { msgID: event.id, headers: h, timeout: config.timeoutMs });
      return { kind: 'delivered' };
    } catch (err) {
      return classify(err, subject, config.timeoutMs);
    }
  }

  async function attempt(events: readonly OutgoingEvent[]): Promise<Classified> {
    let js: JetStreamClient;
    try {
      ({ js } = await open());
    } catch (err) {
      return retry(DestinationUnreachable, `cannot connect to ${config.servers.join(', ')}: ${message(err)}`);
    }
    const results = await Promise.all(events.map(async (e) => ({ id: e.id, outcome: await publish(js, e) })));
    return combine(results);
  }

  return {
    kind: 'nats',
    async deliver(events, signal): Promise<DeliveryOutcome> {
      const start = performance.now();
      if (closed) return stamp(retry(DestinationAborted, 'the destination is closed'), start);
      if (events.length === 0) return { kind: 'delivered', ms: 0 };
      return stamp(await untilAborted(attempt(events), signal), start);
    },
    close() {
      closed = true;
      closing ??= (async () => {
        const current = await link?.catch(() => undefined);
        // drain() publishes what is buffered and waits for it; close() would drop it.
        await current?.nc.drain().catch(() => current.nc.close());
      })();
      return closing;
    },
  };
}

function classify(err: unknown, subject: string, timeoutMs: number): Classified {
  const code = (err as { code?: string }).code;
  const api = (err as { api_error?: { code: number; err_code?: number; description: string } }).api_error;
  if (api) {
    // JetStream refused the message: 4xx (too large, failed expectation) will not change; 5xx may.
    const text = `JetStream ${api.code}${api.err_code ? `/${api.err_code}` : ''}: ${api.description}`;
    const transient = api.code >= 500 || api.code === 408 || api.code === 429;
    return transient ? retry(DestinationRefused, text) : reject(DestinationRefused, text);
  }
  if (code === '503') return retry(DestinationUnroutable, `no JetStream stream takes subject ${subject}`);
  if (code === 'TIMEOUT') return retry(DestinationTimeout, `no acknowledgement within ${timeoutMs} ms`);
  if (code !== undefined && MALFORMED.has(code))
    return reject(DestinationEventInvalid, `${code}: ${message(err)}`);
  return retry(DestinationUnreachable, code === undefined ? message(err) : `${code}: ${message(err)}`);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
