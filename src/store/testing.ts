/**
 * Test support for the store: the same suite runs against SQLite and PostgreSQL. Each test gets its
 * own place (a temp directory, or a random PostgreSQL schema) and everything it opened is closed and
 * removed in `t.after`. Not exported from index.ts.
 *
 * PostgreSQL is required, not optional: CI starts it, so an unreachable server fails the tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { JUNCTION_EPOCH, Snowflake } from '../core/ids.ts';
import type { ConfigRevision } from './config-revisions.ts';
import { type OpenStoreOptions, openStore, type Store } from './open.ts';
import type { ConfigRevisionStatus } from './schema.ts';

export const PG_TEST_URL = process.env.JUNCTION_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Site {
  /** The URL every store of this test opens (sqlite:<file> or the PostgreSQL URL). */
  url: string;
  pgSchema?: string;
  /** Opens one more store on this test's database; closed after the test. */
  open(options?: Pick<OpenStoreOptions, 'poolMax' | 'synchronous'>): Promise<Store>;
  /** open() plus migrate(). */
  openMigrated(): Promise<Store>;
}

export interface Target {
  dialect: Store['dialect'];
  setup(t: TestContext): Promise<Site>;
}

function site(t: TestContext, url: string, pgSchema: string | undefined, cleanup: () => Promise<void>): Site {
  const stores: Store[] = [];
  t.after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await cleanup();
  });
  const open: Site['open'] = async (options = {}) => {
    const store = await openStore({ ...options, url, pgSchema, env: {} });
    stores.push(store);
    return store;
  };
  return {
    url,
    pgSchema,
    open,
    openMigrated: async () => {
      const store = await open();
      await store.migrate();
      return store;
    },
  };
}

export const sqliteTarget: Target = {
  dialect: 'sqlite',
  async setup(t) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'junction-store-'));
    return site(t, `sqlite:${path.join(dir, 'junction.db')}`, undefined, async () => {
      rmSync(dir, { recursive: true, force: true });
    });
  },
};

export const postgresTarget: Target = {
  dialect: 'postgres',
  async setup(t) {
    const schema = `test_${randomBytes(8).toString('hex')}`;
    return site(t, PG_TEST_URL, schema, async () => {
      const admin = await openStore({ url: PG_TEST_URL, poolMax: 1, env: {} });
      try {
        await admin.db.schema.dropSchema(schema).ifExists().cascade().execute();
      } finally {
        await admin.close();
      }
    });
  },
};

export const targets: readonly Target[] = [sqliteTarget, postgresTarget];

/** Records `count` revisions one millisecond apart; every third is rejected. Returns them oldest first. */
export async function seedRevisions(store: Store, count: number): Promise<ConfigRevision[]> {
  let now = JUNCTION_EPOCH + 1_000_000;
  const ids = new Snowflake({ nodeId: 3, now: () => now });
  const out: ConfigRevision[] = [];
  for (let i = 0; i < count; i++) {
    now += 1;
    const status: ConfigRevisionStatus = i % 3 === 2 ? 'rejected' : 'applied';
    out.push(
      await store.configRevisions.record({
        id: ids.next('cfg'),
        hash: `sha256-${i}`,
        status,
        source: 'file',
        createdAt: now,
        ...(status === 'rejected' ? { error: `line ${i}: bad` } : { appliedBy: 'ops' }),
      }),
    );
  }
  return out;
}
