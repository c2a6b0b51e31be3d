/**
 * Which subscriptions take an event (issue #6): its source among the subscription's `sources`
 * (default all), its type matching one of `types` (`*` is any run of characters, so `invoice.*` and
 * `*` work as they read), and the JSONata `filter`, when there is one, true over
 * `{ source, type, payload }`. Disabled subscriptions match too: their deliveries queue and wait.
 *
 * Filters are compiled once, when the config loads (a syntax error is a config error with its
 * place in the file); evaluation is bounded in time and depth (JSONata's `timeout` and `stack`
 * options), and a filter that fails on an event counts as no match, counted and logged, so one
 * odd payload cannot stop the source.
 */
import jsonata from 'jsonata';
import type { SubscriptionConfig } from '../config/events-schema.ts';

export interface CompiledSubscription {
  readonly name: string;
  /** undefined: every source. */
  readonly sources: ReadonlySet<string> | undefined;
  /** undefined: every type (`*`). */
  readonly types: RegExp | undefined;
  readonly filter: jsonata.Expression | undefined;
}

export interface MatchInput {
  source: string;
  type: string;
  /** The payload as the filter sees it (parsed JSON, else the text); only called when a filter runs. */
  payload(): unknown;
}

/** Per evaluation: enough for any sane predicate, short enough that a pathological one cannot stall intake. */
const FILTER_LIMITS = { timeout: 50, stack: 200 };

/**
 * @example
 * const subs = compileSubscriptions(config.events.subscriptions, (path, msg) => issues.push({ path, msg }));
 */
export function compileSubscriptions(
  configs: Readonly<Record<string, SubscriptionConfig>>,
  knownSources: ReadonlySet<string>,
  issue: (path: string, message: string) => void,
): CompiledSubscription[] {
  const compiled: CompiledSubscription[] = [];
  for (const [name, sub] of Object.entries(configs)) {
    const at = `/events/subscriptions/${name}`;
    sub.sources?.forEach((s, i) => {
      if (!knownSources.has(s)) {
        const known = [...knownSources].join(', ') || 'none';
        issue(
          `${at}/sources/${i}`,
          `no source named ${s} (defined in events.sources, pollers, brokers: ${known})`,
        );
      }
    });
    let filter: jsonata.Expression | undefined;
    if (sub.filter !== undefined) {
      try {
        filter = jsonata(sub.filter, FILTER_LIMITS);
      } catch (err) {
        const e = err as { message?: string; position?: number };
        issue(`${at}/filter`, `not a JSONata expression: ${e.message} (at character ${e.position})`);
        continue;
      }
    }
    compiled.push({
      name,
      sources: sub.sources === undefined ? undefined : new Set(sub.sources),
      types: sub.types.includes('*') ? undefined : typePattern(sub.types),
      filter,
    });
  }
  return compiled;
}

/** `invoice.*` → /^(?:invoice\..*)$/: only `*` is special; everything else matches itself. */
export function typePattern(patterns: readonly string[]): RegExp {
  const alternatives = patterns.map((p) =>
    p
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
      .join('.*'),
  );
  return new RegExp(`^(?:${alternatives.join('|')})$`, 's');
}

/**
 * The names of the subscriptions that take the event, in config order.
 * @example
 * const names = await matchSubscriptions(subs, { source, type, payload: () => parsed }, onError);
 */
export async function matchSubscriptions(
  subscriptions: readonly CompiledSubscription[],
  event: MatchInput,
  onFilterError: (subscription: string, err: unknown) => void,
): Promise<string[]> {
  const names: string[] = [];
  let input: { source: string; type: string; payload: unknown } | undefined;
  for (const s of subscriptions) {
    if (s.sources !== undefined && !s.sources.has(event.source)) continue;
    if (s.types !== undefined && !s.types.test(event.type)) continue;
    if (s.filter !== undefined) {
      input ??= { source: event.source, type: event.type, payload: event.payload() };
      try {
        if (!truthy(await s.filter.evaluate(input))) continue;
      } catch (err) {
        onFilterError(s.name, err);
        continue;
      }
    }
    names.push(s.name);
  }
  return names;
}

/** JSONata's `$boolean` (https://docs.jsonata.org/boolean-functions#boolean): how a filter's result reads. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.some(truthy);
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'string':
      return value.length > 0;
    case 'number':
      return value !== 0;
    case 'object':
      return Object.keys(value).length > 0;
    default:
      return false;
  }
}

/** The payload as filters see it: parsed JSON when it is JSON, else the text. */
export function parsePayload(payload: Uint8Array | string): unknown {
  const text = typeof payload === 'string' ? payload : DECODER.decode(payload);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const DECODER = new TextDecoder();
