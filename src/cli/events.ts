/**
 * `junction events export`: the events of a time range as NDJSON (Q31, batch next to the stream),
 * oldest first, one `EventView` per line — the payload as text when it is UTF-8, else base64, so the
 * file holds every event byte for byte. Read in keyset pages (store.events.exportRange): memory stays
 * flat however long the range.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { eventView } from '../events/views.ts';
import { parseWhen, processIo, type StoreIo, UsageError, withStoreSession } from './store-session.ts';

export const EVENTS_USAGE = `Usage:
  junction events export --from <t> [--to <t>] [--source s] [--type t] [-o file.ndjson]
Times: a date-time (2026-05-01T00:00:00Z) or a duration ago (90m, 2h, 7d); --from inclusive, --to
exclusive (default: now). Without -o the NDJSON goes to stdout.
Options: -c junction.yaml (the store to use)
`;

const OPTIONS = {
  config: { type: 'string', short: 'c', default: 'junction.yaml' },
  from: { type: 'string' },
  to: { type: 'string' },
  source: { type: 'string' },
  type: { type: 'string' },
  out: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface EventsIo extends StoreIo {
  /** Where NDJSON goes without -o; stdout by default. */
  stdout?: Writable;
}

/** Exit code: 0 done, 2 usage error. */
export async function eventsCommand(argv: string[], io: EventsIo = processIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${EVENTS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(EVENTS_USAGE);
    return 0;
  }
  try {
    if (positionals[0] !== 'export' || positionals.length > 1)
      throw new UsageError('the command is events export');
    if (values.from === undefined) throw new UsageError('export needs --from');
    const now = Date.now();
    const from = parseWhen('--from', values.from, now);
    const to = values.to === undefined ? now : parseWhen('--to', values.to, now);
    if (to <= from) throw new UsageError('--to must be after --from');
    const filter = { from, to, source: values.source, type: values.type };
    return await withStoreSession(values.config, io, { writes: false }, async ({ store }) => {
      const out = values.out === undefined ? (io.stdout ?? process.stdout) : createWriteStream(values.out);
      let n = 0;
      for await (const event of store.events.exportRange(filter)) {
        // Respect backpressure: a slow disk or pipe holds the next page, not memory.
        if (!out.write(`${JSON.stringify(eventView(event))}\n`)) await once(out, 'drain');
        n++;
      }
      if (values.out !== undefined) {
        out.end();
        await once(out, 'finish');
      }
      io.err(`exported ${n} events${values.out === undefined ? '' : ` to ${values.out}`}\n`);
      return 0;
    });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${EVENTS_USAGE}`);
    return 2;
  }
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
}
