/**
 * Subject and routing-key templates: `events.{type}`, `{source}.{type}`. Compiled once when the
 * destination is built; an unknown placeholder is a config mistake, refused then.
 */
import type { OutgoingEvent } from './types.ts';

export const TEMPLATE_FIELDS = ['type', 'source'] as const;
type Field = (typeof TEMPLATE_FIELDS)[number];

/** A template's placeholders, for the schema's description and the check below. */
export const TEMPLATE_PATTERN = '^(?:[^{}]|\\{(?:type|source)\\})+$';

export type Template = (event: Pick<OutgoingEvent, Field>) => string;

/**
 * @example
 * const subject = compileTemplate('events.{type}');
 * subject({ type: 'order.created', source: 'shop' }); // 'events.order.created'
 */
export function compileTemplate(template: string): Template {
  if (!new RegExp(TEMPLATE_PATTERN).test(template)) {
    throw new TypeError(
      `template ${JSON.stringify(template)} may use only {${TEMPLATE_FIELDS.join('}, {')}} as placeholders`,
    );
  }
  const pieces = template
    .split(/(\{(?:type|source)\})/)
    .filter((p) => p !== '')
    .map((p) => (p === '{type}' || p === '{source}' ? { field: p.slice(1, -1) as Field } : p));
  return (event) => pieces.map((p) => (typeof p === 'string' ? p : event[p.field])).join('');
}
