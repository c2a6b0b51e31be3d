/**
 * Compiles `events:` once per config load (start, reload, `junction validate`): builds each webhook
 * source's verifier, each subscription's type pattern and JSONata filter, and checks what the schema
 * cannot — a name used by two kinds of source, two sources on one path, a subscription naming a
 * source nobody defines. Every mistake is a config issue with file, line and JSON path, reported
 * together, as the ingress does for its routes (src/ingress/runtime.ts). A path that collides with a
 * route is found where the route table is built (compileRuntime's mounted endpoints).
 */
import { ConfigInvalid, type ConfigIssue } from '../config/errors.ts';
import type { EventsConfig } from '../config/events-schema.ts';
import type { LoadedConfig } from '../config/loader.ts';
import { formatIssues } from '../config/loader.ts';
import { JunctionError } from '../core/errors.ts';
import { brokerConfigIssues } from './brokers/sources.ts';
import { type CompiledSubscription, compileSubscriptions } from './subscriptions.ts';
import { type Clock, createVerifier, type VerifyConfig } from './verify/index.ts';
import { keptHeaders, type WebhookSource, webhookPath } from './webhooks.ts';

/**
 * Junction's own operational events (outbound webhook endpoint health, src/webhooks/
 * operational-events.ts) are stored under this source: subscriptions may name it, no source may.
 */
export const RESERVED_SOURCE = 'junction';

export interface CompiledEvents {
  readonly config: EventsConfig;
  readonly sources: readonly WebhookSource[];
  readonly subscriptions: readonly CompiledSubscription[];
  /** Every source name: webhook sources, pollers and brokers. */
  readonly sourceNames: ReadonlySet<string>;
}

/**
 * @example
 * const events = compileEvents(loadConfigFile('junction.yaml')); // throws config_invalid with issues
 */
export function compileEvents(loaded: LoadedConfig, options: { now?: Clock } = {}): CompiledEvents {
  const config = loaded.config.events;
  const issues: ConfigIssue[] = [];
  const issue = (path: string, message: string) =>
    issues.push({ file: loaded.file, ...loaded.locate(path), path, message });

  const kinds = { sources: config.sources, pollers: config.pollers, brokers: config.brokers };
  const owner = new Map<string, string>();
  for (const [kind, map] of Object.entries(kinds)) {
    for (const name of Object.keys(map)) {
      const first = owner.get(name);
      if (name === RESERVED_SOURCE)
        issue(`/events/${kind}/${name}`, `source name ${name} is reserved for Junction's operational events`);
      else if (first !== undefined)
        issue(`/events/${kind}/${name}`, `source name ${name} is also used in events.${first}`);
      else owner.set(name, kind);
    }
  }

  const sources: WebhookSource[] = [];
  const paths = new Map<string, string>();
  for (const [name, sc] of Object.entries(config.sources)) {
    const path = webhookPath(name, sc);
    const at = `/events/sources/${name}`;
    const other = paths.get(path);
    if (other !== undefined)
      issue(sc.path === undefined ? at : `${at}/path`, `path ${path} is also source ${other}'s`);
    paths.set(path, name);
    try {
      const verify = sc.verify as VerifyConfig;
      sources.push({
        name,
        path,
        config: sc,
        verifier: createVerifier(verify, options),
        keep: keptHeaders(verify),
      });
    } catch (err) {
      issue(`${at}/verify`, (err as Error).message);
    }
  }
  for (const b of brokerConfigIssues(config)) issue(b.path, b.message);
  // "Every source" means every configured one: operational events reach only subscriptions that
  // name `junction`, so adding them changes nothing for existing subscriptions.
  const subscriptions = compileSubscriptions(
    config.subscriptions,
    new Set([...owner.keys(), RESERVED_SOURCE]),
    issue,
  ).map((s) => (s.sources === undefined ? { ...s, sources: new Set(owner.keys()) } : s));
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new JunctionError(ConfigInvalid, formatIssues(issues), { extensions: { issues } });
  }
  return { config, sources, subscriptions, sourceNames: new Set(owner.keys()) };
}

/**
 * Whether this config acknowledges events (webhook 2xx, broker ack, poll cursor): then the SQLite
 * store must sync every commit (`synchronous=FULL`), or an acknowledged event could be lost.
 */
export function acknowledgesEvents(config: EventsConfig): boolean {
  return (
    Object.keys(config.sources).length > 0 ||
    Object.keys(config.pollers).length > 0 ||
    Object.keys(config.brokers).length > 0
  );
}
