/**
 * `junction webhooks dead|recover|resend`: outbound webhook dead letters and their recovery (issue
 * #7, Q40) straight in the store, like `junction dlq` for the event hub's queue; the admin API does
 * the same over HTTP (src/admin/routes/webhooks-recovery.ts), both through src/webhooks/recovery.ts.
 * `recover` goes in pages of 500 and draws its progress on stderr, the total on stdout; changes are
 * audited (`webhook.app.recover`, `webhook.message.resend`) with a `cli:<user>` actor. Requeued
 * deliveries are due at once: running gateways take them on their next claim.
 */
import { parseArgs } from 'node:util';
import { isJunctionError } from '../core/errors.ts';
import type { Store, WebhookApp } from '../store/index.ts';
import {
  type DeadLetterView,
  deadLetterView,
  RECOVERY_PAGE,
  recoverDeadLetters,
  recoveryEndpoints,
  resendMessage,
} from '../webhooks/index.ts';
import { progressBar } from './progress.ts';
import {
  cliActor,
  parseWhen,
  processIo,
  type StoreIo,
  type StoreSession,
  UsageError,
  withStoreSession,
} from './store-session.ts';
import { clip, printTable } from './table.ts';

export const WEBHOOKS_USAGE = `Usage:
  junction webhooks dead    <app> [--endpoint ep] [--limit n] [--json]
  junction webhooks recover <app> [--endpoint ep ...] [--type t ...] [--since t] [--until t]
  junction webhooks resend  <app> <msg> --endpoint ep
<app> is an application id (app_…) or uid (of --tenant, none by default).
recover without --endpoint covers every enabled endpoint of the application; without --since, every
dead letter. Times: a date-time (2026-05-01T00:00:00Z) or a duration ago (90m, 2h, 7d) of the message;
--since inclusive, --until exclusive.
Options: -c junction.yaml (the store to use), --tenant t, --json (machine-readable output)
`;

const OPTIONS = {
  config: { type: 'string', short: 'c', default: 'junction.yaml' },
  tenant: { type: 'string', default: '' },
  endpoint: { type: 'string', multiple: true },
  type: { type: 'string', multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string', default: '50' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];
const parse = (argv: string[]) => parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });

/** A refusal worth exit 1 (no such application or message, an endpoint that cannot be used). */
class Refused extends Error {}

/** Exit code: 0 done, 1 refused (unknown application, message or endpoint; in flight), 2 usage error. */
export async function webhooksCommand(argv: string[], io: StoreIo = processIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${WEBHOOKS_USAGE}`);
    return 2;
  }
  const [sub, appRef, ...rest] = positionals;
  if (values.help || sub === undefined) {
    (values.help ? io.out : io.err)(WEBHOOKS_USAGE);
    return values.help ? 0 : 2;
  }
  try {
    if (appRef === undefined) throw new UsageError(`${sub} needs an application id or uid`);
    if (sub === 'dead') {
      if (rest.length > 0) throw new UsageError('dead takes one application');
      if ((values.endpoint?.length ?? 0) > 1) throw new UsageError('dead takes at most one --endpoint');
      const limit = Number(values.limit);
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new UsageError('--limit must be a positive integer');
      return await session(values, io, false, (s) => dead(s, appRef, values, limit, io));
    }
    if (sub === 'recover') {
      if (rest.length > 0) throw new UsageError('recover takes one application; filter with options');
      const now = Date.now();
      const since = values.since === undefined ? undefined : parseWhen('--since', values.since, now);
      const until = values.until === undefined ? undefined : parseWhen('--until', values.until, now);
      if (since !== undefined && until !== undefined && since >= until) {
        throw new UsageError('--since must be before --until');
      }
      return await session(values, io, true, (s) => recover(s, appRef, values, since, until, io));
    }
    if (sub === 'resend') {
      if (rest.length !== 1) throw new UsageError('resend takes an application and a message id');
      if (values.endpoint?.length !== 1) throw new UsageError('resend takes one --endpoint');
      return await session(values, io, true, (s) => resend(s, appRef, rest[0]!, values, io));
    }
    throw new UsageError(`unknown webhooks command ${sub}`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${WEBHOOKS_USAGE}`);
    return 2;
  }
}

/** A store session in which refusals (ours and the recovery rules' stable codes) are exit 1. */
function session(
  values: Values,
  io: StoreIo,
  writes: boolean,
  run: (s: StoreSession) => Promise<number>,
): Promise<number> {
  return withStoreSession(values.config, io, { writes }, async (s) => {
    try {
      return await run(s);
    } catch (err) {
      if (err instanceof Refused) io.err(`${err.message}\n`);
      else if (isJunctionError(err)) io.err(`${err.message} (${err.code})\n`);
      else throw err;
      return 1;
    }
  });
}

async function findApp(store: Store, ref: string, tenant: string): Promise<WebhookApp> {
  const app = ref.startsWith('app_')
    ? await store.webhooks.apps.get(ref)
    : await store.webhooks.apps.getByUid(tenant, ref);
  if (app === undefined)
    throw new Refused(`no application ${ref}${tenant === '' ? '' : ` in tenant ${tenant}`}`);
  return app;
}

async function dead({ store }: StoreSession, appRef: string, values: Values, limit: number, io: StoreIo) {
  const app = await findApp(store, appRef, values.tenant);
  const named = values.endpoint?.[0];
  let endpoints: string[];
  if (named !== undefined) {
    if ((await store.webhooks.endpoints.get(app.id, named)) === undefined) {
      throw new Refused(`${named} is not a live endpoint of application ${app.id}`);
    }
    endpoints = [named];
  } else {
    endpoints = [];
    let after: string | undefined;
    do {
      const page = await store.webhooks.endpoints.list(app.id, { limit: 250, after });
      endpoints.push(...page.items.map((e) => e.id));
      after = page.next;
    } while (after !== undefined);
  }
  // The newest `limit` of each endpoint, merged: the newest `limit` of them all.
  const views: DeadLetterView[] = [];
  let more = false;
  for (const ep of endpoints) {
    let after: string | undefined;
    let taken = 0;
    do {
      const page = await store.webhooks.recovery.listDead(ep, {
        limit: Math.min(RECOVERY_PAGE, limit - taken),
        after,
      });
      views.push(...page.items.map(deadLetterView));
      taken += page.items.length;
      after = page.next;
    } while (after !== undefined && taken < limit);
    if (after !== undefined) more = true;
  }
  views.sort((a, b) => (a.delivery_id < b.delivery_id ? 1 : a.delivery_id > b.delivery_id ? -1 : 0));
  if (views.length > limit) more = true;
  const shown = views.slice(0, limit);
  if (values.json) io.out(`${JSON.stringify(shown)}\n`);
  else table(shown, io);
  if (more) io.err(`showing the newest ${shown.length}; raise --limit or pick an --endpoint\n`);
  return 0;
}

function table(views: readonly DeadLetterView[], io: StoreIo): void {
  if (views.length === 0) {
    io.out('no dead letters\n');
    return;
  }
  const rows = [
    ['MESSAGE', 'ENDPOINT', 'TYPE', 'ATTEMPTS', 'STATUS', 'DEAD SINCE', 'LAST ERROR'],
    ...views.map((v) => [
      v.message_id,
      v.endpoint_id,
      v.event_type,
      String(v.attempts),
      v.last_status === null ? '-' : String(v.last_status),
      v.dead_at,
      clip((v.last_error ?? '-').replace(/\s+/g, ' '), 60),
    ]),
  ];
  printTable(rows, io.out);
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

async function recover(
  { store, audit }: StoreSession,
  appRef: string,
  values: Values,
  since: number | undefined,
  until: number | undefined,
  io: StoreIo,
) {
  const app = await findApp(store, appRef, values.tenant);
  const endpoints = await recoveryEndpoints(store, app.id, values.endpoint);
  let bar: ((done: number) => void) | undefined;
  let barTotal = -1;
  const result = await recoverDeadLetters(store, endpoints, {
    since,
    until,
    eventTypes: values.type,
    onProgress: (p) => {
      // Dead letters that arrive during the run raise the total: the bar is redrawn against it.
      if (p.total !== barTotal) {
        barTotal = p.total;
        bar = progressBar(io, 'recovering', p.total);
      }
      bar?.(p.scanned);
    },
  });
  audit.record({
    action: 'webhook.app.recover',
    outcome: 'success',
    actor: cliActor(),
    resource: app.id,
    after: {
      endpoint_ids: endpoints.map((e) => e.id),
      event_types: values.type,
      since: iso(since),
      until: iso(until),
      scanned: result.scanned,
      recovered: result.recovered,
    },
  });
  if (values.json) io.out(`${JSON.stringify({ recovered: result.recovered, scanned: result.scanned })}\n`);
  else io.out(`recovered ${result.recovered} dead letters (${result.scanned} read)\n`);
  return 0;
}

async function resend(
  { store, audit, ids }: StoreSession,
  appRef: string,
  messageId: string,
  values: Values,
  io: StoreIo,
) {
  const app = await findApp(store, appRef, values.tenant);
  const resent = await resendMessage(store, ids, app.id, messageId, values.endpoint![0]!);
  if (resent === undefined) throw new Refused(`no message ${messageId} in application ${app.id}`);
  audit.record({
    action: 'webhook.message.resend',
    outcome: 'success',
    actor: cliActor(),
    resource: messageId,
    after: { app_id: app.id, ...resent },
  });
  if (values.json) io.out(`${JSON.stringify(resent)}\n`);
  else
    io.out(
      `resending ${messageId} to ${resent.endpoint_id} (was ${resent.previous_status ?? 'never sent to it'})\n`,
    );
  return 0;
}
