/**
 * Builds a destination from a subscription's `destination:` block, checked against the schema once,
 * when the config loads (STYLE.md §4): a bad block fails there, never on the first delivery.
 */
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { ConfigInvalid } from '../../config/errors.ts';
import { JunctionError } from '../../core/errors.ts';
import { createHttpDestination, type HttpDestinationOptions } from './http.ts';
import { createNatsDestination } from './nats.ts';
import { createRabbitMqDestination } from './rabbitmq.ts';
import {
  type DestinationConfig,
  HttpDestinationSchema,
  NatsDestinationSchema,
  RabbitMqDestinationSchema,
} from './schema.ts';
import type { Destination } from './types.ts';

// Checked against the variant `type` names, so errors speak of that kind, not of the union.
const variants = {
  http: { schema: HttpDestinationSchema, check: Compile(HttpDestinationSchema) },
  nats: { schema: NatsDestinationSchema, check: Compile(NatsDestinationSchema) },
  rabbitmq: { schema: RabbitMqDestinationSchema, check: Compile(RabbitMqDestinationSchema) },
};

const MESSAGES: Record<string, string> = {
  boolean: 'unknown key',
  not: 'not allowed: Junction sets this header, or it is not a header name',
};

export interface DestinationOptions {
  http?: HttpDestinationOptions;
}

/** Fills the schema's defaults into a copy of `raw` and checks it; throws `config_invalid`. */
export function parseDestinationConfig(raw: unknown, where = 'destination'): DestinationConfig {
  const type = (raw as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !Object.hasOwn(variants, type)) {
    const kinds = Object.keys(variants).join(', ');
    throw new JunctionError(ConfigInvalid, `${where}/type: must be one of ${kinds}`);
  }
  const { schema, check } = variants[type as keyof typeof variants];
  const config = Value.Default(schema, structuredClone(raw));
  if (check.Check(config)) return config;
  const issues = [...check.Errors(config)]
    // For an unknown key TypeBox reports the key (`boolean`) and its parent; keep the key.
    .filter((e) => e.keyword !== 'additionalProperties')
    .map((e) => `${where}${e.instancePath}: ${MESSAGES[e.keyword] ?? e.message}`);
  throw new JunctionError(ConfigInvalid, issues.join('; '));
}

/**
 * @example
 * const destination = createDestination({ type: 'nats', subject: 'events.{type}' });
 * const outcome = await destination.deliver([event], signal);
 */
export function createDestination(raw: unknown, options: DestinationOptions = {}): Destination {
  const config = parseDestinationConfig(raw);
  try {
    switch (config.type) {
      case 'http':
        return createHttpDestination(config, options.http);
      case 'nats':
        return createNatsDestination(config);
      case 'rabbitmq':
        return createRabbitMqDestination(config);
    }
  } catch (err) {
    // A secret that is not 24 to 64 bytes, credentials in a URL: checks the schema cannot express.
    if (err instanceof TypeError)
      throw new JunctionError(ConfigInvalid, `destination: ${err.message}`, { cause: err });
    throw err;
  }
}
