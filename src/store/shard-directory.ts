/**
 * The shard directory (Q22): key → upstream for routes that shard by lookup, edited through the
 * admin API. Keyset pagination by key within a route; every query is a primary-key lookup or a range
 * over it (src/store/query-plans.test.ts).
 */
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { StorePageLimitInvalid, StoreRecordInvalid } from './errors.ts';
import type { Database } from './schema.ts';

export interface ShardEntry {
  route: string;
  key: string;
  upstream: string;
  /** Epoch milliseconds. */
  updatedAt: number;
}

export interface ShardPage {
  items: ShardEntry[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}

const MAX_KEY = 512;

export class ShardDirectoryRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(route: string, key: string): Promise<ShardEntry | undefined> {
    const row = await this.getQuery(route, key).executeTakeFirst();
    return row && { route: row.route, key: row.shard_key, upstream: row.upstream, updatedAt: row.updated_at };
  }

  /** Inserts or replaces the entry for `key`. */
  async put(route: string, key: string, upstream: string, now = Date.now()): Promise<ShardEntry> {
    check(route, key, upstream);
    await this.putQuery(route, key, upstream, now).execute();
    return { route, key, upstream, updatedAt: now };
  }

  async delete(route: string, key: string): Promise<boolean> {
    const result = await this.deleteQuery(route, key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async list(route: string, options: { limit: number; after?: string }): Promise<ShardPage> {
    if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 1000) {
      throw new JunctionError(StorePageLimitInvalid, `limit must be 1..1000, got ${options.limit}`);
    }
    const rows = await this.listQuery(route, options).execute();
    const items = rows.slice(0, options.limit).map((r) => ({
      route: r.route,
      key: r.shard_key,
      upstream: r.upstream,
      updatedAt: r.updated_at,
    }));
    return rows.length > options.limit ? { items, next: items.at(-1)!.key } : { items };
  }

  getQuery(route: string, key: string) {
    return this.#db
      .selectFrom('shard_directory')
      .selectAll()
      .where('route', '=', route)
      .where('shard_key', '=', key);
  }

  putQuery(route: string, key: string, upstream: string, now: number) {
    return this.#db
      .insertInto('shard_directory')
      .values({ route, shard_key: key, upstream, updated_at: now })
      .onConflict((oc) => oc.columns(['route', 'shard_key']).doUpdateSet({ upstream, updated_at: now }));
  }

  deleteQuery(route: string, key: string) {
    return this.#db.deleteFrom('shard_directory').where('route', '=', route).where('shard_key', '=', key);
  }

  /** One row more than asked for tells whether there is a next page. */
  listQuery(route: string, options: { limit: number; after?: string }) {
    let q = this.#db.selectFrom('shard_directory').selectAll().where('route', '=', route);
    if (options.after !== undefined) q = q.where('shard_key', '>', options.after);
    return q.orderBy('shard_key').limit(options.limit + 1);
  }
}

function check(route: string, key: string, upstream: string): void {
  for (const [name, v] of [
    ['route', route],
    ['key', key],
    ['upstream', upstream],
  ] as const) {
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_KEY) {
      throw new JunctionError(StoreRecordInvalid, `${name} must be 1..${MAX_KEY} characters`);
    }
  }
}
