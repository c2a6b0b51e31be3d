/**
 * Registering a new schema version of an event type (Q45): the schema must be valid JSON Schema and
 * compatible with the previous version under the mode asked for (backward by default), explained by
 * field when it is not. The store appends it with a compare-and-set on the version; if another
 * version won meanwhile, the check runs again against that one.
 */
import { JunctionError } from '../core/errors.ts';
import type { Store, WebhookEventTypeSchema } from '../store/index.ts';
import { type CompatibilityMode, checkCompatibility, describeIssues } from './compat.ts';
import { WebhookSchemaConflict, WebhookSchemaIncompatible } from './errors.ts';
import { checkSchema } from './payload-schema.ts';

const ROUNDS = 3;

/**
 * The new version, or undefined when the event type does not exist (or is archived).
 * @example
 * const v = await registerSchema(store, 'order.created', schema, 'backward');
 */
export async function registerSchema(
  store: Pick<Store, 'webhooks'>,
  name: string,
  schema: unknown,
  mode: CompatibilityMode = 'backward',
  now: number = Date.now(),
): Promise<WebhookEventTypeSchema | undefined> {
  checkSchema(schema);
  const types = store.webhooks.eventTypes;
  for (let round = 0; round < ROUNDS; round++) {
    const type = await types.get(name);
    if (type === undefined) return undefined;
    const previous = type.version > 0 ? await types.schema(name, type.version) : undefined;
    if (previous !== undefined) {
      const issues = checkCompatibility(previous.schema, schema, mode);
      if (issues.length > 0) {
        throw new JunctionError(
          WebhookSchemaIncompatible,
          `not ${mode} compatible with version ${previous.version}: ${describeIssues(issues)}`,
          { extensions: { mode, previous_version: previous.version, issues } },
        );
      }
    }
    const added = await types.addSchema(name, type.version, schema, previous ? mode : 'none', now);
    if (added !== 'stale') return added;
  }
  throw new JunctionError(WebhookSchemaConflict, `schema versions of ${name} kept changing; try again`);
}
