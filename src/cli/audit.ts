/**
 * `junction audit verify`: walks the audit log's hash chain in the store that `-c junction.yaml` or
 * JUNCTION_DATABASE_URL names (as `junction migrate` does), in pages, recomputing every hash.
 * Exit 0 when intact, 1 naming the first record that is not, 2 for a usage error.
 *
 * `--anchor <seq>:<hash>` checks a head noted earlier outside the database (printed by every
 * successful run): a chain rewritten and rehashed to the end passes the chain check, not the anchor.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyChain } from '../audit/index.ts';
import { loadConfigFile } from '../config/loader.ts';
import { openStore } from '../store/index.ts';

export const AUDIT_USAGE = `Usage:
  junction audit verify [-c junction.yaml] [--anchor <seq>:<hash>] [--json]
`;

const OPTIONS = {
  config: { type: 'string', short: 'c', default: 'junction.yaml' },
  anchor: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface AuditIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

const processIo: AuditIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

/** Runs `junction audit <argv>`; resolves to the exit code. */
export async function auditCommand(argv: string[], io: AuditIo = processIo): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${AUDIT_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(AUDIT_USAGE);
    return 0;
  }
  if (positionals[0] !== 'verify' || positionals.length > 1) {
    io.err(AUDIT_USAGE);
    return 2;
  }
  const anchor = values.anchor === undefined ? undefined : parseAnchor(values.anchor);
  if (anchor === null) {
    io.err(`--anchor must be <seq>:<64 hex digits>, as printed by a previous verify\n\n${AUDIT_USAGE}`);
    return 2;
  }
  const url = existsSync(values.config) ? loadConfigFile(values.config, io.env).config.store.url : undefined;
  const store = await openStore({ url: io.env.JUNCTION_DATABASE_URL || url, env: io.env });
  try {
    const result = await verifyChain(store.auditLog, { anchor }).catch((err: unknown) => {
      if (isMissingTable(err)) return undefined;
      throw err;
    });
    if (result === undefined) {
      io.err('this store has no audit log yet: run junction migrate\n');
      return 1;
    }
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else if (result.intact) {
      io.out(`${result.records} records, chain intact\nhead ${result.head.seq}:${result.head.hash}\n`);
    } else {
      io.err(`audit chain broken after ${result.records} good records: ${result.failure.message}\n`);
    }
    return result.intact ? 0 : 1;
  } finally {
    await store.close();
  }
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
}

/** `<seq>:<hash>`; null when malformed. */
function parseAnchor(text: string): { seq: number; hash: string } | null {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { seq: Number(m[1]), hash: m[2]! } : null;
}

/** SQLite "no such table", PostgreSQL 42P01 undefined_table: the store predates migration 0005. */
function isMissingTable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === '42P01' || /no such table: audit_/.test(String(e?.message));
}
