/**
 * How the store commands (`junction keys`, `junction dlq`, `junction events`) reach the store: the
 * one `-c junction.yaml` or JUNCTION_DATABASE_URL names, as `junction migrate` does. A
 * command that changes something gets ids under a leased node id and an audit sink, so its changes
 * are in the audit log like those made through the admin API (Q50).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { StoreAuditSink } from '../audit/index.ts';
import { loadConfigFile } from '../config/loader.ts';
import type { AuditSink } from '../core/audit.ts';
import { Snowflake } from '../core/ids.ts';
import { createLogger } from '../core/logger.ts';
import { openStore, type Store } from '../store/index.ts';

export interface StoreIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal: progress is drawn in place there, one line per step elsewhere. */
  errIsTty?: boolean;
  /** Where changes are recorded; by default the store's audit log. */
  audit?: AuditSink;
}

export const processIo: StoreIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  errIsTty: process.stderr.isTTY === true,
};

export interface StoreSession {
  store: Store;
  /** The no-op sink for read-only sessions. */
  audit: AuditSink;
  /** Ids under a node id leased for the session (Q35); node 0 for read-only sessions, which issue none. */
  ids: Snowflake;
}

/** A usage mistake: exit 2 with the usage text. */
export class UsageError extends Error {}

export async function withStoreSession(
  configFile: string,
  io: StoreIo,
  options: { writes: boolean },
  run: (session: StoreSession) => Promise<number>,
): Promise<number> {
  const config = existsSync(configFile) ? loadConfigFile(configFile, io.env).config : undefined;
  const store = await openStore({ url: io.env.JUNCTION_DATABASE_URL || config?.store.url, env: io.env });
  try {
    if ((config?.store.migrate ?? 'auto') === 'auto') await store.migrate();
    if (!options.writes)
      return await run({
        store,
        audit: { record() {}, flush: async () => {} },
        ids: new Snowflake({ nodeId: 0 }),
      });
    const instance = randomUUID();
    const nodeId = await store.nodes.lease(instance, 60_000);
    const ids = new Snowflake({ nodeId });
    const sink =
      io.audit === undefined
        ? new StoreAuditSink({
            repository: store.auditLog,
            ids: () => ids,
            logger: createLogger({ level: 'warn', destination: pino.destination(2) }),
            registry: new Registry(),
          })
        : undefined;
    try {
      return await run({ store, audit: io.audit ?? sink!, ids });
    } finally {
      await sink?.close();
      await store.nodes.release(nodeId, instance);
    }
  } finally {
    await store.close();
  }
}

/** The actor of CLI changes in the audit log: `cli:<os user>`. */
export function cliActor(): { kind: string; id: string } {
  try {
    return { kind: 'cli', id: `cli:${userInfo().username}` };
  } catch {
    return { kind: 'cli', id: 'cli' };
  }
}

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--from`/`--to`: an RFC 3339 date-time, or a duration ago (`90m`, `2h`, `7d`). Epoch ms. */
export function parseWhen(option: string, value: string, now: number): number {
  const m = /^(\d{1,6})([smhd])$/.exec(value);
  const at = m ? now - Number(m[1]) * UNITS[m[2]!]! : Date.parse(value);
  if (!Number.isFinite(at)) {
    throw new UsageError(
      `${option} ${value}: give a date-time (2026-05-01T00:00:00Z) or a duration ago (2h, 7d)`,
    );
  }
  return at;
}
