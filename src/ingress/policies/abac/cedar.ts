/**
 * Cedar (https://www.cedarpolicy.com) through its WebAssembly build. The module is loaded on the
 * first `auth.abac` route and then kept for the life of the process: compiling the WASM takes
 * ~25 ms, and a gateway without ABAC routes never pays it. Policy sets are parsed once per config
 * (`preparsePolicySet`) and requests are judged against the parsed set (`statefulIsAuthorized`), so
 * a request never re-parses policy text.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as CedarWasm from '@cedar-policy/cedar-wasm/nodejs';

export type Cedar = typeof CedarWasm;

let cedar: Cedar | undefined;
/** How long loading the WASM took, for the one log line about it. */
let loadMs = 0;

/** The Cedar module, loaded (synchronously, once) on first use. */
export function loadCedar(): { cedar: Cedar; loadMs: number; first: boolean } {
  if (cedar) return { cedar, loadMs, first: false };
  const started = performance.now();
  cedar = createRequire(import.meta.url)('@cedar-policy/cedar-wasm/nodejs') as Cedar;
  loadMs = performance.now() - started;
  return { cedar, loadMs, first: true };
}

/** Text from the config or from a file; `where` names it in error messages. */
export function readText(text: string | undefined, file: string | undefined, key: string) {
  if ((text === undefined) === (file === undefined))
    throw new Error(`give exactly one of ${key} and ${key}File`);
  if (text !== undefined) return { text, where: key };
  try {
    return { text: readFileSync(file!, 'utf8'), where: `${key}File ${file}` };
  } catch (err) {
    throw new Error(`${key}File ${file}: ${(err as Error).message}`);
  }
}

/** `line:col` of a character offset, for error messages that point into the Cedar text. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

function describe(errors: CedarWasm.DetailedError[], text?: string): string {
  return errors
    .map((e) => {
      const at =
        text !== undefined && e.sourceLocations?.[0]
          ? ` at ${lineCol(text, e.sourceLocations[0].start)}`
          : '';
      const label = e.sourceLocations?.[0]?.label ? ` (${e.sourceLocations[0].label})` : '';
      return `${e.message}${at}${label}${e.help ? `; ${e.help}` : ''}`;
    })
    .join('; ');
}

/** `@id("…")` among a policy's annotations names it in diagnostics; otherwise `policy<n>`. */
const ID_ANNOTATION = /@id\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)/;

export interface CompiledPolicies {
  /** Key of the parsed set in Cedar's cache. */
  setId: string;
  ids: string[];
}

/**
 * Parses, names and (with a schema) validates a policy set, then caches it parsed. Throws an Error
 * whose message says where in the text the problem is.
 */
export function compilePolicies(
  c: Cedar,
  source: { text: string; where: string },
  schema?: { text: string; where: string },
): CompiledPolicies {
  const parsed = c.checkParsePolicySet({ staticPolicies: source.text });
  if (parsed.type === 'failure') throw new Error(`${source.where}: ${describe(parsed.errors, source.text)}`);
  const parts = c.policySetTextToParts(source.text);
  if (parts.type === 'failure') throw new Error(`${source.where}: ${describe(parts.errors)}`);
  if (parts.policy_templates.length > 0)
    throw new Error(`${source.where}: templates (?principal, ?resource) are not supported`);
  if (parts.policies.length === 0)
    throw new Error(`${source.where}: no policies (everything would be denied)`);
  const named: Record<string, string> = {};
  parts.policies.forEach((text, i) => {
    const id = ID_ANNOTATION.exec(text)?.[1] ?? `policy${i}`;
    if (id in named) throw new Error(`${source.where}: two policies are named ${id}`);
    named[id] = text;
  });
  if (schema) {
    const checked = c.checkParseSchema(schema.text);
    if (checked.type === 'failure')
      throw new Error(`${schema.where}: ${describe(checked.errors, schema.text)}`);
    const v = c.validate({ schema: schema.text, policies: { staticPolicies: named } });
    if (v.type === 'failure') throw new Error(`${source.where}: ${describe(v.errors)}`);
    if (v.validationErrors.length > 0) {
      const list = v.validationErrors.map((e) => `${e.policyId}: ${describe([e.error])}`).join('; ');
      throw new Error(`${source.where} does not match ${schema.where}: ${list}`);
    }
  }
  // Same text, same id: a reload with unchanged policies overwrites the cached set in place.
  const setId = `abac_${createHash('sha256').update(JSON.stringify(named)).digest('hex').slice(0, 24)}`;
  const pre = c.preparsePolicySet(setId, { staticPolicies: named });
  if (pre.type === 'failure') throw new Error(`${source.where}: ${describe(pre.errors)}`);
  return { setId, ids: Object.keys(named) };
}
