/**
 * A RabbitMQ queue as an event source. The queue is declared durable if missing; every node consumes
 * it, and RabbitMQ spreads the messages over them, at most `prefetch` unacknowledged per node.
 *
 * A message is acked only after the intake stored it (or found it a duplicate). If the intake fails
 * it is nacked with requeue after a growing pause (an immediate requeue would spin while the store
 * is down); if the event can never be stored (`event_invalid`) it is nacked without requeue, which
 * dead-letters it when the queue has a dead-letter exchange and drops it otherwise (a poison
 * message, Q24). Unacked messages of a lost channel or connection go back to the queue.
 *
 * The dedupe key is the message's `messageId` property. RabbitMQ does not deduplicate: a message
 * without one that is redelivered (its ack was lost with the connection) becomes a second event.
 *
 * The connection reconnects by itself (amqplib's recovery, full-jitter backoff) and consuming starts
 * again in its `setup`; a channel the broker closed, or a consumer it cancelled (the queue was
 * deleted), is opened again on the live connection.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Channel,
  type ChannelModel,
  type ConsumeMessage,
  connect,
  type RecoveringChannelModel,
} from 'amqplib';
import type { BrokerSourceConfig } from '../../config/events-schema.ts';
import { type Logger, throttledWarn } from '../../core/logger.ts';
import { fullJitterDelay } from '../../resilience/index.ts';
import type { EventIntake } from '../pipeline.ts';
import { acceptMessage, headerRecord, InFlight } from './consume.ts';
import type { BrokerMetrics, MessageResult } from './metrics.ts';
import { compileEventType } from './template.ts';
import type { BrokerSource } from './types.ts';

export type RabbitMqSourceConfig = Extract<BrokerSourceConfig, { type: 'rabbitmq' }>;

const RECONNECT = { baseMs: 250, capMs: 10_000 };
const REQUEUE = { baseMs: 250, capMs: 30_000 };
const CLOSE_TIMEOUT_MS = 2_000;

export interface RabbitMqSourceOptions {
  name: string;
  config: RabbitMqSourceConfig;
  intake: EventIntake;
  logger: Logger;
  metrics: BrokerMetrics;
}

/**
 * @example
 * const source = startRabbitMqSource({ name: 'shipping', config: { type: 'rabbitmq',
 *   url: 'amqp://guest:guest@127.0.0.1:5672', queue: 'shipping-events', eventType: '{routingKey}',
 *   prefetch: 50 }, intake, logger, metrics });
 * await source.close();
 */
export function startRabbitMqSource(options: RabbitMqSourceOptions): BrokerSource {
  const { name, config, intake, metrics } = options;
  const logger = options.logger.child({ source: name, broker: 'rabbitmq' });
  const warn = throttledWarn(logger);
  const typeOf = compileEventType(config.eventType, 'routingKey');
  const count = (result: MessageResult) => metrics.messages.inc({ source: name, result });
  // The broker bounds what is in flight (prefetch); this only tracks it for close().
  const inflight = new InFlight(Number.POSITIVE_INFINITY);
  const stop = new AbortController();
  /** The connection consuming now, and its channel. */
  let live: ChannelModel | undefined;
  let consuming: { ch: Channel; tag: string } | undefined;
  /** Failed accepts in a row: the pause before a requeue grows with them. */
  let failures = 0;

  const settle = (ch: Channel, act: (ch: Channel) => void) => {
    try {
      act(ch);
    } catch {
      // The channel closed meanwhile: the broker has put the message back in the queue already.
    }
  };

  async function handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const p = msg.properties;
    const verdict = await acceptMessage(intake, {
      source: name,
      type: typeOf(msg.fields.routingKey),
      ...(typeof p.messageId === 'string' && p.messageId !== '' ? { externalId: p.messageId } : {}),
      payload: msg.content,
      headers: {
        ...headerRecord(Object.entries(p.headers ?? {})),
        ...(p.contentType === undefined ? {} : { 'content-type': String(p.contentType) }),
        'amqp-exchange': msg.fields.exchange,
        'amqp-routing-key': msg.fields.routingKey,
      },
    });
    if (verdict.kind === 'stored') {
      failures = 0;
      settle(ch, (c) => c.ack(msg));
      count(verdict.duplicate ? 'duplicate' : 'new');
    } else if (verdict.kind === 'reject') {
      settle(ch, (c) => c.nack(msg, false, false));
      count('rejected');
      logger.error(
        { err: verdict.err, messageId: p.messageId },
        'rabbitmq: message can never be stored, rejected',
      );
    } else {
      warn(verdict.err, 'rabbitmq: message not stored, requeued');
      const pause = fullJitterDelay(++failures, REQUEUE.baseMs, REQUEUE.capMs, Math.random);
      await sleep(pause, undefined, { signal: stop.signal }).catch(() => {});
      settle(ch, (c) => c.nack(msg, false, true));
      count('retried');
    }
  }

  async function consume(model: ChannelModel): Promise<void> {
    const ch = await model.createChannel();
    // Without a listener a channel error would be thrown; 'close' follows it and reopens.
    ch.on('error', (err: Error) => warn(err, 'rabbitmq: channel error'));
    ch.on('close', () => {
      if (consuming?.ch !== ch) return;
      consuming = undefined;
      if (!stop.signal.aborted && live === model) void reopen(model, 1);
    });
    await ch.prefetch(config.prefetch);
    await ch.assertQueue(config.queue, { durable: true });
    const { consumerTag } = await ch.consume(
      config.queue,
      (msg) => {
        if (msg === null) {
          // The broker cancelled the consumer (queue deleted): a new channel declares it again.
          logger.warn({ queue: config.queue }, 'rabbitmq: consumer cancelled by the broker');
          void ch.close().catch(() => {});
          return;
        }
        void inflight.run(() => handle(ch, msg));
      },
      { noAck: false },
    );
    consuming = { ch, tag: consumerTag };
  }

  async function reopen(model: ChannelModel, attempt: number): Promise<void> {
    await sleep(fullJitterDelay(attempt, RECONNECT.baseMs, RECONNECT.capMs, Math.random), undefined, {
      signal: stop.signal,
    }).catch(() => {});
    if (stop.signal.aborted || live !== model || consuming !== undefined) return;
    try {
      await consume(model);
      logger.info({ queue: config.queue }, 'rabbitmq: consuming again');
    } catch (err) {
      warn(err, 'rabbitmq: cannot consume, trying again');
      void reopen(model, attempt + 1);
    }
  }

  const connection: Promise<RecoveringChannelModel> = connect(config.url, {
    clientProperties: { connection_name: `junction-source-${name}` },
    recovery: {
      waitForConnect: false,
      calculateDelay: (attempt) => fullJitterDelay(attempt, RECONNECT.baseMs, RECONNECT.capMs, Math.random),
      // Runs on every (re)connection, before it counts as connected; a throw reconnects.
      setup: async (model: ChannelModel) => {
        live = model;
        model.once('close', () => {
          if (live === model) live = undefined;
        });
        await consume(model);
      },
    },
  }).then((m) => {
    m.on('error', (err: Error) => warn(err, 'rabbitmq: connection error'));
    m.on('connect-failed', (err: Error) => warn(err, 'rabbitmq: cannot connect'));
    m.on('disconnect', (err: Error) => warn(err, 'rabbitmq: connection lost, reconnecting'));
    return m;
  });
  connection.catch((err) => warn(err, 'rabbitmq: cannot connect'));

  let closing: Promise<void> | undefined;
  return {
    config,
    close() {
      closing ??= (async () => {
        stop.abort();
        const current = consuming;
        if (current) await withTimeout(current.ch.cancel(current.tag), CLOSE_TIMEOUT_MS).catch(() => {});
        await inflight.idle();
        const m = await connection.catch(() => undefined);
        // Bounded: a close sent over a socket that just died waits for a reply that never comes.
        await withTimeout(m?.close() ?? Promise.resolve(), CLOSE_TIMEOUT_MS).catch(() => {});
      })();
      return closing;
    },
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
