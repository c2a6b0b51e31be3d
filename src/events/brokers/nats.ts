/**
 * A NATS JetStream stream as an event source: a durable pull consumer that every node binds to, so
 * each message goes to one node (JetStream hands a pull consumer's messages to whichever client
 * pulls). The consumer is created if missing (explicit acks, all messages from the start), or used
 * as the operator configured it.
 *
 * A message is acked only after the intake stored it (or found it a duplicate); if the intake
 * fails it is nak'ed with a growing delay and JetStream sends it again; if the event can never be
 * stored (`event_invalid`) it is terminated, so it does not come back forever (a poison message,
 * Q24). A node that dies with messages unacked gives them back after the consumer's `ack_wait`.
 *
 * The dedupe key is the publisher's `Nats-Msg-Id` header when there is one, else the message's place
 * in the stream, `<stream>#<sequence>@<timestamp ns>` (the timestamp because a stream deleted and
 * created again counts from 1 again), so a message redelivered after its event was stored but before
 * the ack arrived is a duplicate, not a second event.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  ConsumerEvents,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  type JsMsg,
  type NatsConnection,
  nanos,
} from 'nats';
import type { BrokerSourceConfig } from '../../config/events-schema.ts';
import { type Logger, throttledWarn } from '../../core/logger.ts';
import { fullJitterDelay } from '../../resilience/index.ts';
import type { EventIntake } from '../pipeline.ts';
import { acceptMessage, headerRecord, InFlight } from './consume.ts';
import type { BrokerMetrics, MessageResult } from './metrics.ts';
import { compileEventType } from './template.ts';
import type { BrokerSource } from './types.ts';

export type NatsSourceConfig = Extract<BrokerSourceConfig, { type: 'nats' }>;

/** Messages handled at once per node; the pull asks for a few more so the next ones are there. */
const CONCURRENCY = 16;
const PULL_BATCH = 64;
/** A new consumer's ack wait: far above one store write, so only a dead node's messages come back. */
const ACK_WAIT_MS = 30_000;
const NAK = { baseMs: 1_000, capMs: 60_000 };
const RECONNECT = { baseMs: 250, capMs: 10_000 };
/** JetStream API error codes (nats-server `server/errors.json`). */
const CONSUMER_NOT_FOUND = 10014;

export interface NatsSourceOptions {
  name: string;
  config: NatsSourceConfig;
  intake: EventIntake;
  logger: Logger;
  metrics: BrokerMetrics;
}

/**
 * @example
 * const source = startNatsSource({ name: 'orders', config: { type: 'nats', url: 'nats://127.0.0.1:4222',
 *   stream: 'ORDERS', consumer: 'junction', eventType: '{subject}' }, intake, logger, metrics });
 * await source.close();
 */
export function startNatsSource(options: NatsSourceOptions): BrokerSource {
  const { name, config, intake, metrics } = options;
  const logger = options.logger.child({ source: name, broker: 'nats' });
  const warn = throttledWarn(logger);
  const typeOf = compileEventType(config.eventType, 'subject');
  const count = (result: MessageResult) => metrics.messages.inc({ source: name, result });
  const inflight = new InFlight(CONCURRENCY);
  const stop = new AbortController();
  let nc: NatsConnection | undefined;
  let messages: ConsumerMessages | undefined;

  async function handle(msg: JsMsg): Promise<void> {
    const verdict = await acceptMessage(intake, {
      source: name,
      type: typeOf(msg.subject),
      externalId: msg.headers?.get('Nats-Msg-Id') || `${config.stream}#${msg.seq}@${msg.info.timestampNanos}`,
      payload: msg.data,
      headers: {
        ...headerRecord(msg.headers ? [...msg.headers.keys()].map((k) => [k, msg.headers!.get(k)]) : []),
        'nats-subject': msg.subject,
      },
    });
    if (verdict.kind === 'stored') {
      msg.ack();
      count(verdict.duplicate ? 'duplicate' : 'new');
    } else if (verdict.kind === 'reject') {
      // Without a reason: `+TERM <reason>` needs nats-server 2.11, older servers ignore it.
      msg.term();
      count('rejected');
      logger.error({ err: verdict.err, seq: msg.seq }, 'nats: message can never be stored, terminated');
    } else {
      msg.nak(fullJitterDelay(msg.info.redeliveryCount, NAK.baseMs, NAK.capMs, Math.random));
      count('retried');
      warn(verdict.err, 'nats: message not stored, JetStream will redeliver it');
    }
  }

  async function ensureConsumer(conn: NatsConnection): Promise<void> {
    const jsm = await conn.jetstreamManager();
    try {
      await jsm.consumers.info(config.stream, config.consumer);
    } catch (err) {
      if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== CONSUMER_NOT_FOUND)
        throw err;
      // Two nodes creating it at once is fine: JetStream answers the same config with the existing consumer.
      await jsm.consumers.add(config.stream, {
        durable_name: config.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ACK_WAIT_MS),
        ...(config.subject === undefined ? {} : { filter_subject: config.subject }),
      });
      logger.info({ stream: config.stream, consumer: config.consumer }, 'nats: durable consumer created');
    }
  }

  const run = (async () => {
    let attempt = 0;
    let reconnects = 0;
    try {
      nc = await connect({
        servers: config.url,
        name: `junction-source-${name}`,
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () =>
          fullJitterDelay(++reconnects, RECONNECT.baseMs, RECONNECT.capMs, Math.random),
      });
    } catch (err) {
      if (!stop.signal.aborted) warn(err, 'nats: cannot connect');
      return;
    }
    if (stop.signal.aborted) {
      // close() came while connecting and did not wait for it.
      await nc.close();
      return;
    }
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') reconnects = 0;
    })().catch(() => {});
    while (!stop.signal.aborted) {
      try {
        await ensureConsumer(nc);
        const consumer = await nc.jetstream().consumers.get(config.stream, config.consumer);
        const current = await consumer.consume({ max_messages: PULL_BATCH });
        messages = current;
        if (stop.signal.aborted) break;
        // A consumer deleted under us is created again (the loop's next round) rather than waited for.
        void (async () => {
          for await (const status of await current.status()) {
            if (
              status.type === ConsumerEvents.ConsumerDeleted ||
              status.type === ConsumerEvents.ConsumerNotFound
            ) {
              logger.warn({ consumer: config.consumer }, 'nats: consumer gone, creating it again');
              current.stop();
              break;
            }
          }
        })().catch(() => {});
        attempt = 0;
        for await (const msg of current) {
          await inflight.run(() => handle(msg));
          if (stop.signal.aborted) break;
        }
      } catch (err) {
        if (stop.signal.aborted) break;
        warn(err, 'nats: consumer unavailable, trying again');
      }
      await sleep(fullJitterDelay(++attempt, RECONNECT.baseMs, RECONNECT.capMs, Math.random), undefined, {
        signal: stop.signal,
      }).catch(() => {});
    }
  })();

  let closing: Promise<void> | undefined;
  return {
    config,
    close() {
      closing ??= (async () => {
        stop.abort();
        // Stop pulling; messages pulled but not started come back to the consumer after ack_wait.
        await messages?.close().catch(() => {});
        await inflight.idle();
        // Still connecting (the server is down): run() closes the connection if it ever opens.
        if (nc === undefined) return;
        await run;
        // drain() flushes the acks just sent before closing.
        await nc.drain().catch(() => nc?.close());
      })();
      return closing;
    },
  };
}
