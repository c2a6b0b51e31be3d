/**
 * The history of configuration loads: every applied or rejected `junction.yaml`, newest first.
 *
 * Ids are `cfg_` Snowflakes, whose string order is time order (src/core/ids.ts), so "newest first" is
 * `order by id desc` and a page cursor is simply the last id seen (keyset pagination: stable while rows
 * are added, no OFFSET scan; https://use-the-index-luke.com/no-offset).
 *
 * Every query is built by a `…Query` method so the query-plan test explains exactly what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { parseId } from '../core/ids.ts';
import { StorePageLimitInvalid, StoreRecordInvalid } from './errors.ts';
import {
  CONFIG_REVISION_SOURCES,
  CONFIG_REVISION_STATUSES,
  type ConfigRevisionSource,
  type ConfigRevisionStatus,
  type ConfigRevisionsTable,
  type Database,
} from './schema.ts';

export interface ConfigRevision {
  /** `cfg_<snowflake>`. */
  id: string;
  /** sha256 (hex) of the config source text. */
  hash: string;
  status: ConfigRevisionStatus;
  source: ConfigRevisionSource;
  appliedBy: string | null;
  /** Why a rejected revision was refused. */
  error: string | null;
  /** Epoch milliseconds. */
  createdAt: number;
}

export type NewConfigRevision = Omit<ConfigRevision, 'appliedBy' | 'error' | 'createdAt'> &
  Partial<Pick<ConfigRevision, 'appliedBy' | 'error' | 'createdAt'>>;

export interface ListRevisionsOptions {
  /** 1..1000. */
  limit: number;
  /** The `next` of the previous page: the last id it held. */
  after?: string;
  status?: ConfigRevisionStatus;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}

export const MAX_PAGE_LIMIT = 1000;

export class ConfigRevisionRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Stores one revision and returns it as stored. */
  async record(revision: NewConfigRevision): Promise<ConfigRevision> {
    const stored: ConfigRevision = {
      appliedBy: null,
      error: null,
      createdAt: Date.now(),
      ...revision,
    };
    checkRevision(stored);
    await this.insertQuery(stored).execute();
    return stored;
  }

  /** The configuration currently in force, if any was ever applied. */
  async latestApplied(): Promise<ConfigRevision | undefined> {
    const row = await this.latestAppliedQuery().executeTakeFirst();
    return row === undefined ? undefined : toRevision(row);
  }

  /** One page, newest first. */
  async list(options: ListRevisionsOptions): Promise<Page<ConfigRevision>> {
    const rows = await this.listQuery(options).execute();
    // listQuery reads one row past the page: its presence says whether a next page exists.
    const items = rows.slice(0, options.limit).map(toRevision);
    const last = items.at(-1);
    return rows.length > options.limit && last !== undefined ? { items, next: last.id } : { items };
  }

  insertQuery(revision: ConfigRevision) {
    return this.#db.insertInto('config_revisions').values({
      id: revision.id,
      hash: revision.hash,
      status: revision.status,
      source: revision.source,
      applied_by: revision.appliedBy,
      error: revision.error,
      created_at: revision.createdAt,
    });
  }

  /** Index: config_revisions_status_id_idx, read backwards. */
  latestAppliedQuery() {
    return this.#db
      .selectFrom('config_revisions')
      .selectAll()
      .where('status', '=', 'applied')
      .orderBy('id', 'desc')
      .limit(1);
  }

  /**
   * With a status: config_revisions_status_id_idx; without: the primary key. Either way the index
   * order is the result order, so no sort step and the scan stops after `limit + 1` rows.
   */
  listQuery(options: ListRevisionsOptions) {
    const { limit, after, status } = options;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new JunctionError(StorePageLimitInvalid, `limit must be an integer in 1..${MAX_PAGE_LIMIT}`);
    }
    let query = this.#db.selectFrom('config_revisions').selectAll();
    if (status !== undefined) query = query.where('status', '=', status);
    if (after !== undefined) query = query.where('id', '<', after);
    return query.orderBy('id', 'desc').limit(limit + 1);
  }
}

function checkRevision(revision: ConfigRevision): void {
  let prefix: string | undefined;
  try {
    prefix = parseId(revision.id).prefix;
  } catch {
    prefix = undefined;
  }
  if (prefix !== 'cfg')
    throw new JunctionError(StoreRecordInvalid, 'revision id must be a cfg_ Snowflake id');
  if (!(CONFIG_REVISION_STATUSES as readonly string[]).includes(revision.status)) {
    throw new JunctionError(StoreRecordInvalid, `revision status must be one of ${CONFIG_REVISION_STATUSES}`);
  }
  if (!(CONFIG_REVISION_SOURCES as readonly string[]).includes(revision.source)) {
    throw new JunctionError(StoreRecordInvalid, `revision source must be one of ${CONFIG_REVISION_SOURCES}`);
  }
  if (!Number.isSafeInteger(revision.createdAt)) {
    throw new JunctionError(StoreRecordInvalid, 'revision createdAt must be epoch milliseconds');
  }
}

function toRevision(row: ConfigRevisionsTable): ConfigRevision {
  return {
    id: row.id,
    hash: row.hash,
    status: row.status,
    source: row.source,
    appliedBy: row.applied_by,
    error: row.error,
    createdAt: row.created_at,
  };
}
