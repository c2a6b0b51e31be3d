/**
 * Loads `junction.yaml`: parse with positions, interpolate `${ENV}`, fill schema defaults, validate,
 * and report every mistake as `file:line:col  /json/path  message` (the `yaml` package keeps source
 * ranges; the compiled TypeBox validator gives JSON pointers; this module joins the two).
 */
import { readFileSync } from 'node:fs';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  parse as parseYaml,
} from 'yaml';
import { JunctionError } from '../core/errors.ts';
import { ConfigInvalid, type ConfigIssue, ConfigUnreadable } from './errors.ts';
import { ApiSchema, type Config, ConfigSchema, UpstreamSchema } from './schema.ts';

const validator = Compile(ConfigSchema);

export interface LoadedConfig {
  config: Config;
  file: string;
  source: string;
  /** Finds the source position of a JSON pointer, for errors found after validation. */
  locate(pointer: string): { line: number; col: number };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new JunctionError(ConfigUnreadable, `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  return loadConfigText(source, file, env);
}

export function loadConfigText(
  source: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  const lineCounter = new LineCounter();
  // uniqueKeys: a key given twice is a mistake, not "last one wins".
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: false });
  const posOf = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  if (doc.errors.length > 0) {
    // After the first syntax error the parser's further complaints are mostly its echo; report one.
    const first = doc.errors[0]!;
    const issues = [{ file, ...posOf(first.pos[0]), path: '', message: first.message.split('\n')[0]! }];
    throw new JunctionError(ConfigInvalid, formatIssues(issues), { extensions: { issues } });
  }
  const issues: ConfigIssue[] = [];
  interpolate(doc.contents, env, (node, message) =>
    issues.push({ file, ...posOf(node.range?.[0] ?? 0), path: '', message }),
  );
  const raw = doc.toJS() ?? {};
  const locate = (pointer: string) => posOf(offsetOf(doc.contents, pointer));
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ file, line: 1, col: 1, path: '', message: 'the config must be a mapping' });
  } else {
    const config = withDefaults(raw);
    if (!validator.Check(config)) {
      for (const e of validator.Errors(config)) {
        // For an unknown key TypeBox reports the key (`schema is false`) and its parent; keep the key.
        if (e.keyword === 'additionalProperties') continue;
        const message = e.keyword === 'boolean' ? 'unknown key' : e.message;
        issues.push({ file, ...locate(e.instancePath), path: e.instancePath || '/', message });
      }
    }
    if (issues.length === 0) return { config: config as Config, file, source, locate };
  }
  throw new JunctionError(ConfigInvalid, formatIssues(issues), { extensions: { issues } });
}

/**
 * Schema defaults. TypeBox's Value.Default only descends into a Record whose value schema itself has
 * a default, so the named maps (upstreams, apis) get theirs filled entry by entry.
 */
function withDefaults(raw: object): unknown {
  const config = Value.Default(ConfigSchema, raw) as Record<string, unknown>;
  const fill = (key: string, schema: TSchema) => {
    const map = config[key];
    if (map === null || typeof map !== 'object' || Array.isArray(map)) return;
    for (const [name, value] of Object.entries(map))
      (map as Record<string, unknown>)[name] = Value.Default(schema, value);
  };
  fill('upstreams', UpstreamSchema);
  fill('apis', ApiSchema);
  return config;
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `${i.file}:${i.line}:${i.col}  ${i.path || '/'}  ${i.message}`).join('\n');
}

/** Replaces `${NAME}` and `${NAME:-default}` in scalars; a scalar that is only a reference takes YAML's type. */
function interpolate(
  node: unknown,
  env: NodeJS.ProcessEnv,
  report: (node: Node, message: string) => void,
): void {
  if (isMap(node) || isSeq(node)) {
    for (const item of node.items) interpolate(isPair(item) ? item.value : item, env, report);
    return;
  }
  if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('${')) return;
  const text = node.value;
  const whole = /^\$\{[^}]+\}$/.test(text);
  const replaced = text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (_m, name: string, fallback?: string) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      report(node, `environment variable ${name} is not set and has no default (\${${name}:-default})`);
      return '';
    },
  );
  node.value = whole ? parseYaml(replaced === '' ? '""' : replaced) : replaced;
}

/** Source offset of the node at a JSON pointer; for a missing key, its parent's position. */
function offsetOf(root: unknown, pointer: string): number {
  const parts =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = root;
  let offset = (root as Node | null)?.range?.[0] ?? 0;
  for (const part of parts) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === part);
      if (!pair) return offset;
      // Point at the key: "unknown key" and type errors read best there.
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(part)] as Node | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}
