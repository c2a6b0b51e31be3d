/**
 * Compatibility of two versions of an event type's JSON Schema (issue #7, Q45). Pure: no I/O.
 *
 * Written here because no maintained npm package answers "does every instance of schema A validate
 * under schema B" with explanations (Confluent's checker is Java; json-schema-diff tools report
 * edits, not compatibility). The modes follow Confluent Schema Registry's
 * (https://docs.confluent.io/platform/current/schema-registry/fundamentals/schema-evolution.html):
 *
 * - `backward` (default): every payload the previous version accepted, the new one accepts too — a
 *   message sent before the change and retried, resent or recovered after it still validates — and a
 *   field the previous version required stays required: receivers were promised it. Adding an
 *   optional field passes; adding a required field, removing or retyping a required one, narrowing an
 *   enum or a bound, or closing `additionalProperties` is refused.
 * - `forward`: every payload of the new version is accepted by the previous one, so receivers that
 *   validate against the old schema keep accepting what they get. Removing a required field, widening
 *   a type or enum, or adding a field to a closed object is refused.
 * - `full`: both. `none`: no check (an explicit breaking change, recorded with the version).
 *
 * The check is structural and conservative: it understands `type` (integer within number), `enum`,
 * `const`, `properties`, `required`, `additionalProperties`, `items`, length, count and numeric
 * bounds, `pattern` and `format`. Any other keyword (`anyOf`, `$ref`, `not`, …) must be the same in
 * both versions, or the change is refused as one it cannot prove safe.
 */

export const COMPATIBILITY_MODES = ['backward', 'forward', 'full', 'none'] as const;
export type CompatibilityMode = (typeof COMPATIBILITY_MODES)[number];

export interface CompatibilityIssue {
  /** JSON pointer to the field in the payload (`/customer/email`, `/items/*​/sku`), '' for the root. */
  path: string;
  /** Which rule: `backward` (old payloads under the new schema) or `forward` (new payloads under the old). */
  direction: 'backward' | 'forward';
  message: string;
}

type Schema = boolean | Record<string, unknown>;

/** Keywords the structural check reasons about; anything else must be equal in both versions. */
const UNDERSTOOD = new Set([
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'pattern',
  'format',
  // Annotations: no effect on validation.
  '$schema',
  '$id',
  'title',
  'description',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
]);

/**
 * The reasons `next` may not follow `previous` under `mode`; empty when it may.
 * @example
 * const issues = checkCompatibility(v1, v2, 'backward');
 * if (issues.length > 0) throw conflict(issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; '));
 */
export function checkCompatibility(previous: unknown, next: unknown, mode: CompatibilityMode = 'backward') {
  const issues: CompatibilityIssue[] = [];
  const old = asSchema(previous);
  const neu = asSchema(next);
  if (mode === 'backward' || mode === 'full') {
    const report: Report = (path, message) => issues.push({ path, direction: 'backward', message });
    covers(neu, old, '', { sup: 'new version', sub: 'previous version', report });
    keepsRequired(old, neu, '', report);
  }
  if (mode === 'forward' || mode === 'full') {
    const report: Report = (path, message) => issues.push({ path, direction: 'forward', message });
    covers(old, neu, '', { sup: 'previous version', sub: 'new version', report });
  }
  return dedupe(issues);
}

/** One line per issue, for a problem's `detail`. */
export function describeIssues(issues: readonly CompatibilityIssue[]): string {
  return issues.map((i) => `${i.path === '' ? '/' : i.path} (${i.direction}): ${i.message}`).join('; ');
}

type Report = (path: string, message: string) => void;
/** Which version plays which part, for the messages: `sub`'s payloads must validate under `sup`. */
interface Sides {
  sup: string;
  sub: string;
  report: Report;
}

function asSchema(value: unknown): Schema {
  if (typeof value === 'boolean') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return value as Record<string, unknown>;
  throw new TypeError('a JSON Schema is an object or a boolean');
}

/** Reports where `sub` accepts an instance that `sup` refuses (`sub`'s instances must all be `sup`'s). */
function covers(sup: Schema, sub: Schema, path: string, sides: Sides): void {
  const { report } = sides;
  if (sup === true || sub === false) return;
  if (sup === false) {
    report(path, `the ${sides.sub} allows this field, the ${sides.sup} does not`);
    return;
  }
  const subObj: Record<string, unknown> = sub === true ? {} : sub;
  for (const key of new Set([...Object.keys(sup), ...Object.keys(subObj)])) {
    if (!UNDERSTOOD.has(key) && !sameJson(sup[key], subObj[key])) {
      report(path, `${key} differs between the versions; only an identical ${key} can be checked`);
    }
  }
  const supTypes = typesOf(sup);
  const subTypes = typesOf(subObj);
  if (supTypes !== undefined) {
    if (subTypes === undefined)
      report(path, `the ${sides.sub} allows any type, the ${sides.sup} only ${fmt(supTypes)}`);
    else {
      const lost = [...subTypes].filter(
        (t) => !supTypes.has(t) && !(t === 'integer' && supTypes.has('number')),
      );
      if (lost.length > 0) {
        report(
          path,
          `the ${sides.sub} allows type ${lost.join('|')}, the ${sides.sup} only ${fmt(supTypes)}`,
        );
      }
    }
  }
  enums(sup, subObj, path, sides);
  const may = (t: string) =>
    subTypes === undefined || subTypes.has(t) || (t === 'number' && subTypes.has('integer'));
  if (may('object') && (supTypes === undefined || supTypes.has('object'))) objects(sup, subObj, path, sides);
  if (may('array') && (supTypes === undefined || supTypes.has('array'))) {
    covers(asSchema(sup.items ?? true), asSchema(subObj.items ?? true), `${path}/*`, sides);
    bounds(sup, subObj, 'minItems', 'maxItems', path, sides);
  }
  if (may('string')) {
    bounds(sup, subObj, 'minLength', 'maxLength', path, sides);
    for (const key of ['pattern', 'format'] as const) {
      if (sup[key] !== undefined && sup[key] !== subObj[key]) {
        const theirs = subObj[key] === undefined ? 'none' : JSON.stringify(subObj[key]);
        report(
          path,
          `the ${sides.sup} requires ${key} ${JSON.stringify(sup[key])}, the ${sides.sub} ${theirs}`,
        );
      }
    }
  }
  if (may('number')) {
    bounds(sup, subObj, 'minimum', 'maximum', path, sides);
    bounds(sup, subObj, 'exclusiveMinimum', 'exclusiveMaximum', path, sides);
  }
}

function objects(sup: Record<string, unknown>, sub: Record<string, unknown>, path: string, sides: Sides) {
  const { report } = sides;
  const supProps = props(sup);
  const subProps = props(sub);
  const supRequired = new Set(requiredOf(sup));
  const subRequired = new Set(requiredOf(sub));
  for (const name of supRequired) {
    if (!subRequired.has(name)) {
      report(
        `${path}/${name}`,
        `required by the ${sides.sup}, not by the ${sides.sub}: payloads without it are refused`,
      );
    }
  }
  const supExtra = asSchema(sup.additionalProperties ?? true);
  const subExtra = asSchema(sub.additionalProperties ?? true);
  for (const name of new Set([...Object.keys(supProps), ...Object.keys(subProps)])) {
    // A field the sub side does not declare, in an object it leaves open by default, is no promise
    // of its: an old payload could carry anything there, but adding an optional field is the one
    // change every schema must be able to make (Confluent's strict rule would refuse it).
    if (!(name in subProps) && (sub.additionalProperties ?? true) === true) continue;
    const subP = subProps[name] ?? subExtra;
    if (subP === false) continue;
    covers(supProps[name] ?? supExtra, subP, `${path}/${name}`, sides);
  }
  if (subExtra !== false && supExtra !== true) {
    if (supExtra === false) {
      report(
        path,
        `the ${sides.sup} refuses fields it does not list (additionalProperties: false), the ${sides.sub} allows them`,
      );
    } else covers(supExtra, subExtra, `${path}/*`, sides);
  }
}

/** Backward only: a field the previous version required is still required, at every depth. */
function keepsRequired(old: Schema, next: Schema, path: string, report: Report): void {
  // `false` accepts nothing (covers() reports it); `true` promises no field.
  if (typeof old === 'boolean' || next === false) return;
  const neu = next === true ? {} : next;
  const newRequired = new Set(requiredOf(neu));
  const oldProps = props(old);
  const newProps = props(neu);
  for (const name of requiredOf(old)) {
    if (!(name in newProps) && !newRequired.has(name))
      report(`${path}/${name}`, 'required field removed: receivers rely on it');
    else if (!newRequired.has(name))
      report(`${path}/${name}`, 'required field became optional: receivers rely on it');
  }
  for (const [name, schema] of Object.entries(oldProps)) {
    const next = newProps[name];
    if (next !== undefined) keepsRequired(schema, next, `${path}/${name}`, report);
  }
  if (old.items !== undefined && neu.items !== undefined) {
    keepsRequired(asSchema(old.items), asSchema(neu.items), `${path}/*`, report);
  }
}

function enums(sup: Record<string, unknown>, sub: Record<string, unknown>, path: string, sides: Sides) {
  const supValues = valuesOf(sup);
  if (supValues === undefined) return;
  const subValues = valuesOf(sub);
  const listed = (values: unknown[]) => values.map((v) => JSON.stringify(v)).join(', ');
  if (subValues === undefined) {
    sides.report(path, `the ${sides.sup} allows only ${listed(supValues)}, the ${sides.sub} any value`);
    return;
  }
  const lost = subValues.filter((v) => !supValues.some((w) => sameJson(v, w)));
  if (lost.length > 0) {
    sides.report(path, `the ${sides.sub} allows ${listed(lost)}, the ${sides.sup} does not (enum)`);
  }
}

function bounds(
  sup: Record<string, unknown>,
  sub: Record<string, unknown>,
  minKey: string,
  maxKey: string,
  path: string,
  sides: Sides,
): void {
  const supMin = num(sup[minKey]);
  const subMin = num(sub[minKey]);
  if (supMin !== undefined && (subMin === undefined || subMin < supMin)) {
    sides.report(path, `the ${sides.sup} has ${minKey} ${supMin}, the ${sides.sub} ${subMin ?? 'none'}`);
  }
  const supMax = num(sup[maxKey]);
  const subMax = num(sub[maxKey]);
  if (supMax !== undefined && (subMax === undefined || subMax > supMax)) {
    sides.report(path, `the ${sides.sup} has ${maxKey} ${supMax}, the ${sides.sub} ${subMax ?? 'none'}`);
  }
}

function typesOf(schema: Record<string, unknown>): Set<string> | undefined {
  if (typeof schema.type === 'string') return new Set([schema.type]);
  if (Array.isArray(schema.type)) return new Set(schema.type as string[]);
  const values = valuesOf(schema);
  if (values !== undefined) return new Set(values.map(jsonType));
  return undefined;
}

function valuesOf(schema: Record<string, unknown>): unknown[] | undefined {
  if ('const' in schema) return [schema.const];
  return Array.isArray(schema.enum) ? schema.enum : undefined;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function props(schema: Record<string, unknown>): Record<string, Schema> {
  const p = schema.properties;
  return p !== null && typeof p === 'object' ? (p as Record<string, Schema>) : {};
}

function requiredOf(schema: Record<string, unknown>): string[] {
  return Array.isArray(schema.required) ? (schema.required as string[]) : [];
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function fmt(types: Set<string>): string {
  return [...types].join('|');
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function dedupe(issues: CompatibilityIssue[]): CompatibilityIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.direction}${i.path}${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
