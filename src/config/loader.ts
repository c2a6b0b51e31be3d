/**
 * Loads `junction.yaml`: parse with positions, interpolate `${ENV}`, fill schema defaults, validate,
 * and report every mistake as `file:line:col  /json/path  message` (the `yaml` package keeps source
 * ranges; the compiled TypeBox validator gives JSON pointers; this module joins the two).
 */
import { readFileSync } from 'node:fs';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { JunctionError } from '../core/errors.ts';
import { ConfigInvalid, type ConfigIssue, ConfigUnreadable } from './errors.ts';
import {
  BrokerSourceSchema,
  PollerSchema,
  SubscriptionSchema,
  WebhookSourceSchema,
} from './events-schema.ts';
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
    const path = pathAt(doc.contents, first.pos[0]);
    const message =
      first.code === 'DUPLICATE_KEY'
        ? `key ${unescapePointer(path.slice(path.lastIndexOf('/') + 1))} is given twice; keys must be unique`
        : first.message.split('\n')[0]!;
    const issues = [{ file, ...posOf(first.pos[0]), path, message }];
    throw new JunctionError(ConfigInvalid, formatIssues(issues), { extensions: { issues } });
  }
  const issues: ConfigIssue[] = [];
  interpolate(doc.contents, '', env, (node, path, message) =>
    issues.push({ file, ...posOf(node.range?.[0] ?? 0), path, message }),
  );
  const raw = doc.toJS() ?? {};
  const locate = (pointer: string) => posOf(offsetOf(doc.contents, pointer));
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ file, line: 1, col: 1, path: '', message: 'the config must be a mapping' });
  } else {
    const config = withDefaults(raw);
    if (!validator.Check(config)) {
      // A value whose variable is unset is reported once, as that; not again as, say, too short.
      const unset = new Set(issues.map((i) => i.path));
      for (const e of validator.Errors(config)) {
        // For an unknown key TypeBox reports the key (`schema is false`) and its parent; keep the key.
        if (e.keyword === 'additionalProperties' || unset.has(e.instancePath)) continue;
        const message = e.keyword === 'boolean' ? 'unknown key' : e.message;
        issues.push({ file, ...locate(e.instancePath), path: e.instancePath || '/', message });
      }
    }
    if (issues.length === 0) return { config: config as Config, file, source, locate };
  }
  // In file order, as an editor lists them.
  issues.sort((a, b) => a.line - b.line || a.col - b.col);
  throw new JunctionError(ConfigInvalid, formatIssues(issues), { extensions: { issues } });
}

/**
 * Schema defaults. TypeBox's Value.Default only descends into a Record whose value schema itself has
 * a default, so the named maps (upstreams, apis, the event hub's) get theirs filled entry by entry.
 */
function withDefaults(raw: object): unknown {
  const config = Value.Default(ConfigSchema, raw) as Record<string, unknown>;
  const fill = (parent: unknown, key: string, schema: TSchema) => {
    const map = (parent as Record<string, unknown> | undefined)?.[key];
    if (map === null || typeof map !== 'object' || Array.isArray(map)) return;
    for (const [name, value] of Object.entries(map))
      (map as Record<string, unknown>)[name] = Value.Default(schema, value);
  };
  fill(config, 'upstreams', UpstreamSchema);
  fill(config, 'apis', ApiSchema);
  fill(config.events, 'sources', WebhookSourceSchema);
  fill(config.events, 'pollers', PollerSchema);
  fill(config.events, 'brokers', BrokerSourceSchema);
  fill(config.events, 'subscriptions', SubscriptionSchema);
  return config;
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `${i.file}:${i.line}:${i.col}  ${i.path || '/'}  ${i.message}`).join('\n');
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in scalars. An unquoted scalar that is only a reference
 * takes the YAML type of the value (`port: ${PORT:-8080}` is a number); a quoted one stays a string,
 * and a value never becomes a mapping or a list, whatever the variable holds.
 */
function interpolate(
  node: unknown,
  path: string,
  env: NodeJS.ProcessEnv,
  report: (node: Node, path: string, message: string) => void,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      interpolate(pair.value, `${path}/${escapePointer(key)}`, env, report);
    }
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => {
      interpolate(item, `${path}/${i}`, env, report);
    });
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
      report(node, path, `environment variable ${name} is not set and has no default (\${${name}:-default})`);
      return '';
    },
  );
  node.value = whole && node.type === 'PLAIN' ? plainScalar(replaced) : replaced;
}

/** What `text` means as an unquoted YAML scalar (number, boolean, null or string); never throws. */
function plainScalar(text: string): unknown {
  const doc = parseDocument(text);
  const c = doc.contents;
  return doc.errors.length === 0 && isScalar(c) && c.type === 'PLAIN' && c.range?.[1] === text.length
    ? c.value
    : text;
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (part: string) => part.replace(/~1/g, '/').replace(/~0/g, '~');

/** JSON pointer of the innermost key or item whose source covers `offset` (for parser errors). */
function pathAt(root: unknown, offset: number): string {
  let path = '';
  let node: unknown = root;
  const covers = (n: unknown) => {
    const r = (n as Node | null)?.range;
    return r !== undefined && r !== null && offset >= r[0] && offset <= r[1];
  };
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => covers(p.key) || covers(p.value));
      if (!pair) return path;
      path += `/${escapePointer(isScalar(pair.key) ? String(pair.key.value) : String(pair.key))}`;
      if (!covers(pair.value)) return path;
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex(covers);
      if (i === -1) return path;
      path += `/${i}`;
      node = node.items[i];
    } else {
      return path;
    }
  }
}

/** Source offset of the node at a JSON pointer; for a missing key, its parent's position. */
function offsetOf(root: unknown, pointer: string): number {
  const parts = pointer === '' ? [] : pointer.slice(1).split('/').map(unescapePointer);
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
