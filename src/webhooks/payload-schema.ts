/**
 * JSON Schema for event types: checking a registered schema against the draft 2020-12 meta-schema
 * and validating payloads. TypeBox 1.x (a direct dependency) ships a standalone JSON Schema validator
 * (`typebox/schema`: Compile, Check, Errors over arbitrary schemas, `$ref`, formats) and the
 * meta-schemas, so no second validator (ajv) is needed. Validators are compiled once per
 * (event type, version) and cached: never on the request path twice.
 */
import { LRUCache } from 'lru-cache';
import Schema from 'typebox/schema';
import { JunctionError } from '../core/errors.ts';
import { WebhookPayloadInvalid, WebhookSchemaInvalid } from './errors.ts';

type Validator = ReturnType<typeof Schema.Compile>;

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
let metaValidator: Validator | undefined;
const compiled = new LRUCache<string, Validator>({ max: 1000 });
/** Largest schema document accepted, in bytes of JSON. */
const MAX_SCHEMA_BYTES = 65_536;

/** Throws `webhook_schema_invalid` unless `schema` is a JSON Schema (draft 2020-12) that compiles. */
export function checkSchema(schema: unknown): void {
  if (JSON.stringify(schema).length > MAX_SCHEMA_BYTES) {
    throw new JunctionError(WebhookSchemaInvalid, `a schema is at most ${MAX_SCHEMA_BYTES} bytes of JSON`);
  }
  metaValidator ??= Schema.Compile(Schema.Meta[DRAFT_2020_12] as never);
  const [valid, errors] = metaValidator.Errors(schema);
  if (!valid) {
    throw new JunctionError(WebhookSchemaInvalid, describe(errors), {
      extensions: { errors: errors.slice(0, 20) },
    });
  }
  try {
    Schema.Compile(schema as never);
  } catch (cause) {
    throw new JunctionError(WebhookSchemaInvalid, (cause as Error).message, { cause });
  }
}

/**
 * Throws `webhook_payload_invalid` (with the validator's errors) unless `payload` validates.
 * @example
 * validatePayload(`order.created@3`, schema.schema, body.payload);
 */
export function validatePayload(key: string, schema: unknown, payload: unknown): void {
  let validator = compiled.get(key);
  if (validator === undefined) {
    validator = Schema.Compile(schema as never);
    compiled.set(key, validator);
  }
  const [valid, errors] = validator.Errors(payload);
  if (!valid) {
    throw new JunctionError(WebhookPayloadInvalid, describe(errors), {
      extensions: { errors: errors.slice(0, 20).map((e) => ({ path: e.instancePath, message: e.message })) },
    });
  }
}

function describe(errors: readonly { instancePath: string; message: string }[]): string {
  return errors
    .slice(0, 5)
    .map((e) => `${e.instancePath === '' ? '/' : e.instancePath}: ${e.message}`)
    .join('; ');
}
