/**
 * `junction dlq list|replay|discard`: the dead letter queue (Q40) straight in the store, for
 * operators and scripts (the admin API does the same over HTTP). Bulk replays go in pages of
 * PAGE, drawing their progress on stderr; every change is audited as `admin.delivery.*` with a
 * `cli:<user>` actor. Replayed deliveries are due at once; running gateways take them on their next
 * claim.
 */
import { parseArgs } from 'node:util';
import { type DeliveryView, deliveryView } from '../events/views.ts';
import type { DeliveryFilter, Store } from '../store/index.ts';
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

export const DLQ_USAGE = `Usage:
  junction dlq list    [--subscription s] [--from t] [--to t] [--limit n] [--json]
  junction dlq replay  <delivery id>
  junction dlq replay  --all [--subscription s] [--from t] [--to t]
  junction dlq discard <delivery id>
Times: a date-time (2026-05-01T00:00:00Z) or a duration ago (90m, 2h, 7d); --from inclusive, --to exclusive.
Options: -c junction.yaml (the store to use), --json (machine-readable output)
`;

const OPTIONS = {
  config: { type: 'string', short: 'c', default: 'junction.yaml' },
  subscription: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string', default: '1000' },
  all: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];
const parse = (argv: string[]) => parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });

/** Dead letters read and replayed per round trip. */
export const PAGE = 500;

/** Exit code: 0 done, 1 failed (no such dead letter), 2 usage error. */
export async function dlqCommand(argv: string[], io: StoreIo = processIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${DLQ_USAGE}`);
    return 2;
  }
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined) {
    (values.help ? io.out : io.err)(DLQ_USAGE);
    return values.help ? 0 : 2;
  }
  try {
    const filter = filterOf(values);
    const hasFilter = Object.values(filter).some((v) => v !== undefined);
    if (sub === 'list') {
      if (rest.length > 0) throw new UsageError('list takes no arguments');
      const limit = Number(values.limit);
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new UsageError('--limit must be a positive integer');
      return await withStoreSession(values.config, io, { writes: false }, ({ store }) =>
        list(store, filter, limit, values.json, io),
      );
    }
    if (sub === 'replay' && values.all) {
      if (rest.length > 0) throw new UsageError('replay takes an id or --all, not both');
      return await withStoreSession(values.config, io, { writes: true }, (s) => replayAll(s, filter, io));
    }
    if (sub === 'replay' || sub === 'discard') {
      if (rest.length !== 1) throw new UsageError(`${sub} takes one delivery id (or, for replay, --all)`);
      if (hasFilter) throw new UsageError('--subscription, --from and --to go with replay --all');
      return await withStoreSession(values.config, io, { writes: true }, (s) =>
        one(s, sub, rest[0]!, values.json, io),
      );
    }
    throw new UsageError(`unknown dlq command ${sub}`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${DLQ_USAGE}`);
    return 2;
  }
}

function filterOf(values: Values): DeliveryFilter {
  const now = Date.now();
  return {
    subscription: values.subscription,
    from: values.from === undefined ? undefined : parseWhen('--from', values.from, now),
    to: values.to === undefined ? undefined : parseWhen('--to', values.to, now),
  };
}

async function list(store: Store, filter: DeliveryFilter, limit: number, json: boolean, io: StoreIo) {
  const views: DeliveryView[] = [];
  let after: string | undefined;
  let more = false;
  do {
    const page = await store.deliveries.listDead({
      ...filter,
      limit: Math.min(PAGE, limit - views.length),
      after,
    });
    views.push(...page.items.map(deliveryView));
    after = page.next;
    more = after !== undefined;
  } while (more && views.length < limit);
  if (json) io.out(`${JSON.stringify(views)}\n`);
  else table(views, io);
  if (more) io.err(`showing the newest ${views.length}; narrow with --from/--to or raise --limit\n`);
  return 0;
}

function table(views: readonly DeliveryView[], io: StoreIo): void {
  if (views.length === 0) {
    io.out('no dead letters\n');
    return;
  }
  const rows = [
    ['ID', 'SUBSCRIPTION', 'EVENT', 'ATTEMPTS', 'DEAD SINCE', 'LAST ERROR'],
    ...views.map((v) => [
      v.id,
      v.subscription,
      v.event_id,
      String(v.attempts),
      v.updated_at,
      clip((v.last_error ?? '-').replace(/\s+/g, ' '), 72),
    ]),
  ];
  printTable(rows, io.out);
}

async function one(
  { store, audit }: StoreSession,
  action: 'replay' | 'discard',
  id: string,
  json: boolean,
  io: StoreIo,
): Promise<number> {
  const before = await store.deliveries.get(id);
  if (before === undefined) {
    io.err(`no delivery ${id}\n`);
    return 1;
  }
  if (before.status !== 'dead') {
    io.err(`delivery ${id} is ${before.status}, not dead (delivery_not_dead)\n`);
    return 1;
  }
  const ok = action === 'replay' ? await store.deliveries.replay(id) : await store.deliveries.discard(id);
  if (!ok) {
    io.err(`delivery ${id} left the dead letter queue meanwhile\n`);
    return 1;
  }
  const after = action === 'replay' ? await store.deliveries.get(id) : undefined;
  audit.record({
    action: `admin.delivery.${action}`,
    outcome: 'success',
    actor: cliActor(),
    resource: id,
    before: deliveryView(before),
    ...(after ? { after: deliveryView(after) } : {}),
  });
  if (json) io.out(`${JSON.stringify(deliveryView(after ?? before))}\n`);
  else
    io.out(
      `${action === 'replay' ? 'replayed' : 'discarded'} ${id} (${before.subscription}, event ${before.eventId})\n`,
    );
  return 0;
}

/**
 * Collects the matching ids first (so the total is known), then replays them a page at a time by id:
 * a dead letter that arrives meanwhile is not swept in, and one replayed by someone else is not
 * counted twice.
 */
async function replayAll({ store, audit }: StoreSession, filter: DeliveryFilter, io: StoreIo) {
  const ids: string[] = [];
  let after: string | undefined;
  do {
    const page = await store.deliveries.listDead({ ...filter, limit: PAGE, after });
    for (const d of page.items) ids.push(d.id);
    after = page.next;
  } while (after !== undefined);
  const bar = progressBar(io, 'replaying', ids.length);
  let replayed = 0;
  for (let i = 0; i < ids.length; i += PAGE) {
    replayed += await store.deliveries.replayMany({ ...filter, ids: ids.slice(i, i + PAGE) });
    bar(Math.min(i + PAGE, ids.length));
  }
  const described = {
    ...(filter.subscription === undefined ? {} : { subscription: filter.subscription }),
    ...(filter.from === undefined ? {} : { from: new Date(filter.from).toISOString() }),
    ...(filter.to === undefined ? {} : { to: new Date(filter.to).toISOString() }),
  };
  audit.record({
    action: 'admin.delivery.replay_many',
    outcome: 'success',
    actor: cliActor(),
    resource: filter.subscription ?? '*',
    after: { ...described, replayed },
  });
  io.out(`replayed ${replayed} of ${ids.length} dead letters\n`);
  return 0;
}
