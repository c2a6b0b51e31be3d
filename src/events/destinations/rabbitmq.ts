/**
 * RabbitMQ destination: each event is one persistent message published to an exchange with a
 * templated routing key, on a confirm channel, so "delivered" means the broker has taken
 * responsibility for it (RabbitMQ docs, "Consumer Acknowledgements and Publisher Confirms": for
 * persistent messages routed to durable queues, the confirm comes once they are written to disk).
 *
 * `mandatory` is on by default: a message no queue is bound for comes back (basic.return, sent before
 * its confirm) and the event is retried rather than silently dropped. RabbitMQ does not deduplicate,
 * so a resent event can arrive twice; consumers dedupe on `messageId`, the event id.
 *
 * The connection reconnects by itself after a loss (amqplib's recovery, waiting with our full-jitter
 * backoff); the channel is opened again on the next delivery after it closed.
 */
import { type ConfirmChannel, connect, type RecoveringChannelModel } from 'amqplib';
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
import type { RabbitMqDestinationConfig } from './schema.ts';
import { compileTemplate } from './template.ts';
import type { DeliveryOutcome, Destination, OutgoingEvent } from './types.ts';

const RECONNECT = { baseMs: 250, capMs: 10_000 };
/** AMQP 0-9-1 short strings (routing keys, exchange names) hold at most 255 bytes. */
const MAX_SHORTSTR = 255;
const CLOSE_TIMEOUT_MS = 2_000;

interface Channel {
  ch: ConfirmChannel;
  /** Message ids that came back unroutable and await their confirm. */
  returned: Map<string, number>;
  /** Why the broker closed the channel, when it did. */
  closedBy?: Error & { code?: number };
}

/**
 * @example
 * const broker = createRabbitMqDestination({ type: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1',
 *   exchange: 'events', routingKey: '{type}', mandatory: true, timeoutMs: 5_000 });
 * await broker.deliver([event]);
 */
export function createRabbitMqDestination(config: RabbitMqDestinationConfig): Destination {
  const keyOf = compileTemplate(config.routingKey);
  let model: Promise<RecoveringChannelModel> | undefined;
  let lastConnectError: Error | undefined;
  let channel: Promise<Channel> | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;

  function connection(): Promise<RecoveringChannelModel> {
    model ??= connect(config.url, {
      recovery: {
        waitForConnect: false,
        calculateDelay: (attempt) => fullJitterDelay(attempt, RECONNECT.baseMs, RECONNECT.capMs, Math.random),
      },
    }).then((m) => {
      // Without listeners an 'error' event would throw; the reason is kept for the outcome's text.
      m.on('error', (err: Error) => {
        lastConnectError = err;
      });
      m.on('connect-failed', (err: Error) => {
        lastConnectError = err;
      });
      m.on('connect', () => {
        lastConnectError = undefined;
      });
      m.on('disconnect', (err: Error) => {
        lastConnectError = err;
        channel = undefined;
      });
      return m;
    });
    // Only a malformed URL fails here (the first connect is not awaited); the next delivery tries again.
    model.catch(() => {
      model = undefined;
    });
    return model;
  }

  function openChannel(): Promise<Channel> {
    if (channel) return channel;
    const opening = connection()
      .then((m) => m.createConfirmChannel())
      .then((ch) => {
        const state: Channel = { ch, returned: new Map() };
        ch.on('return', (msg: { properties: { messageId?: string } }) => {
          const id = msg.properties.messageId;
          if (id !== undefined) state.returned.set(id, (state.returned.get(id) ?? 0) + 1);
        });
        ch.on('error', (err: Error) => {
          state.closedBy = err;
        });
        ch.on('close', () => {
          if (channel === opening) channel = undefined;
        });
        return state;
      });
    channel = opening;
    opening.catch(() => {
      if (channel === opening) channel = undefined;
    });
    return opening;
  }

  function publish(state: Channel, event: OutgoingEvent): Promise<Classified> {
    const routingKey = keyOf(event);
    if (Buffer.byteLength(routingKey) > MAX_SHORTSTR) {
      return Promise.resolve(
        reject(DestinationEventInvalid, `routing key is longer than ${MAX_SHORTSTR} bytes`),
      );
    }
    const content = Buffer.from(event.payload);
    return new Promise((resolve) => {
      const confirmed = (err: Error | null) => {
        if (err) return resolve(classifyClose(err, state.closedBy, config.exchange));
        const returns = state.returned.get(event.id) ?? 0;
        if (returns === 0) return resolve({ kind: 'delivered' });
        if (returns === 1) state.returned.delete(event.id);
        else state.returned.set(event.id, returns - 1);
        resolve(
          retry(
            DestinationUnroutable,
            `no queue is bound to exchange "${config.exchange}" for "${routingKey}"`,
          ),
        );
      };
      try {
        state.ch.publish(
          config.exchange,
          routingKey,
          content,
          {
            persistent: true,
            mandatory: config.mandatory,
            messageId: event.id,
            contentType: event.contentType,
            type: event.type,
            timestamp: Math.floor(event.receivedAt / 1000),
            appId: 'junction',
            headers: { 'x-junction-source': event.source },
          },
          confirmed,
        );
      } catch (err) {
        // Encoding limits (a RangeError for oversized headers) or a channel closed under us.
        resolve(
          err instanceof RangeError
            ? reject(DestinationEventInvalid, err.message)
            : retry(DestinationUnreachable, (err as Error).message),
        );
      }
    });
  }

  async function attempt(events: readonly OutgoingEvent[]): Promise<Classified> {
    let state: Channel;
    try {
      state = await withTimeout(openChannel(), config.timeoutMs);
    } catch (err) {
      const why = lastConnectError?.message ?? (err as Error).message;
      return retry(DestinationUnreachable, `cannot open a channel to ${redact(config.url)}: ${why}`);
    }
    const pending = events.map(async (e) => ({ id: e.id, outcome: await publish(state, e) }));
    const timedOut = retry(DestinationTimeout, `no confirm within ${config.timeoutMs} ms`);
    const results = await withTimeout(Promise.all(pending), config.timeoutMs).catch(() =>
      events.map((e) => ({ id: e.id, outcome: timedOut as Classified })),
    );
    return combine(results);
  }

  return {
    kind: 'rabbitmq',
    async deliver(events, signal): Promise<DeliveryOutcome> {
      const start = performance.now();
      if (closed) return stamp(retry(DestinationAborted, 'the destination is closed'), start);
      if (events.length === 0) return { kind: 'delivered', ms: 0 };
      return stamp(await untilAborted(attempt(events), signal), start);
    },
    close() {
      closed = true;
      closing ??= (async () => {
        // Closing the connection closes its channel. Bounded: a close sent over a socket that just
        // died waits for a reply that never comes (the broker side is gone either way).
        const m = await model?.catch(() => undefined);
        await withTimeout(m?.close() ?? Promise.resolve(), CLOSE_TIMEOUT_MS).catch(() => {});
      })();
      return closing;
    },
  };
}

/** A publish whose channel closed before its confirm: why the broker closed it decides. */
function classifyClose(
  err: Error,
  closedBy: (Error & { code?: number }) | undefined,
  exchange: string,
): Classified {
  if (closedBy?.code === 404) {
    // The exchange is missing: a deployment step not yet run, not a bad event.
    return retry(DestinationUnroutable, `exchange "${exchange}" does not exist: ${closedBy.message}`);
  }
  if (closedBy?.code === 406 && /message size/i.test(closedBy.message)) {
    return reject(DestinationRefused, closedBy.message);
  }
  if (err.message === 'message nacked') return retry(DestinationRefused, 'the broker nacked the message');
  return retry(DestinationUnreachable, closedBy ? closedBy.message : err.message);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rejectTimeout) => {
    timer = setTimeout(() => rejectTimeout(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The URL without its password, for error texts that end up in attempt logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the broker';
  }
}
