/**
 * API keys: the stored half of `auth.api-key` (src/ingress/policies/api-key/). A row holds the key's
 * public id, the non-secret lookup `prefix` of its secret and a SHA-256 digest of the secret, never
 * the secret (OWASP API Security Top 10 2023, API2 Broken Authentication). Minting secrets and
 * checking them belongs to the policy; this repository only stores and finds rows.
 *
 * Ids are `jk_` Snowflakes, so "newest first" is `order by id desc` and a page cursor is the last id
 * seen (keyset pagination, like config-revisions.ts). Every query is built by a `…Query` method so
 * src/store/query-plans.test.ts explains exactly what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { parseId } from '../core/ids.ts';
import { MAX_PAGE_LIMIT, type Page } from './config-revisions.ts';
import { StorePageLimitInvalid, StoreRecordInvalid } from './errors.ts';
import type { ApiKeysTable, Database } from './schema.ts';

export interface ApiKey {
  /** `jk_<snowflake>`. */
  id: string;
  /** Lookup part of the secret; not secret itself. */
  prefix: string;
  /** SHA-256 of the secret, 64 hex characters. */
  hash: string;
  name: string;
  scopes: string[];
  roles: string[];
  tenant: string | null;
  /** Epoch milliseconds; null for a key that does not expire. */
  expiresAt: number | null;
  revokedAt: number | null;
  createdAt: number;
  createdBy: string | null;
  lastUsedAt: number | null;
}

export type NewApiKey = Omit<
  ApiKey,
  'revokedAt' | 'lastUsedAt' | 'createdAt' | 'createdBy' | 'tenant' | 'expiresAt'
> &
  Partial<Pick<ApiKey, 'createdAt' | 'createdBy' | 'tenant' | 'expiresAt'>>;

export interface ListApiKeysOptions {
  /** 1..1000. */
  limit: number;
  /** The `next` of the previous page: the last id it held. */
  after?: string;
  /** Only this tenant's keys; all keys when absent. */
  tenant?: string;
}

/** How long `touch` leaves `last_used_at` alone after it was set. */
export const LAST_USED_RESOLUTION_MS = 60_000;

const HASH = /^[0-9a-f]{64}$/;
const PREFIX = /^[0-9a-z]{8,32}$/;
const MAX_TEXT = 256;
const MAX_ITEMS = 64;

export class ApiKeyRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Stores a new key and returns it as stored. */
  async create(key: NewApiKey): Promise<ApiKey> {
    const stored: ApiKey = {
      tenant: null,
      expiresAt: null,
      createdAt: Date.now(),
      createdBy: null,
      ...key,
      revokedAt: null,
      lastUsedAt: null,
    };
    checkKey(stored);
    await this.insertQuery(stored).execute();
    return stored;
  }

  async get(id: string): Promise<ApiKey | undefined> {
    const row = await this.getQuery(id).executeTakeFirst();
    return row === undefined ? undefined : toApiKey(row);
  }

  /** The key whose secret starts with this prefix, revoked and expired ones included. */
  async findByPrefix(prefix: string): Promise<ApiKey | undefined> {
    const row = await this.findByPrefixQuery(prefix).executeTakeFirst();
    return row === undefined ? undefined : toApiKey(row);
  }

  /** One page, newest first. */
  async list(options: ListApiKeysOptions): Promise<Page<ApiKey>> {
    const rows = await this.listQuery(options).execute();
    const items = rows.slice(0, options.limit).map(toApiKey);
    const last = items.at(-1);
    return rows.length > options.limit && last !== undefined ? { items, next: last.id } : { items };
  }

  /**
   * Marks the key revoked at `at` unless it already was (the first revocation time is kept).
   * Returns the key as it now is, or undefined when there is no such key.
   */
  async revoke(id: string, at = Date.now()): Promise<ApiKey | undefined> {
    await this.revokeQuery(id, at).execute();
    return this.get(id);
  }

  /**
   * Records a use at `at`, unless one was recorded less than a minute before: callers may call it
   * on every request and the row is written at most once a minute, whichever node calls.
   */
  async touch(id: string, at = Date.now()): Promise<boolean> {
    const result = await this.touchQuery(id, at).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  insertQuery(key: ApiKey) {
    return this.#db.insertInto('api_keys').values({
      id: key.id,
      prefix: key.prefix,
      hash: key.hash,
      name: key.name,
      scopes: JSON.stringify(key.scopes),
      roles: JSON.stringify(key.roles),
      tenant: key.tenant,
      expires_at: key.expiresAt,
      revoked_at: key.revokedAt,
      created_at: key.createdAt,
      created_by: key.createdBy,
      last_used_at: key.lastUsedAt,
    });
  }

  /** Primary key. */
  getQuery(id: string) {
    return this.#db.selectFrom('api_keys').selectAll().where('id', '=', id);
  }

  /** Index: api_keys_prefix_key. */
  findByPrefixQuery(prefix: string) {
    return this.#db.selectFrom('api_keys').selectAll().where('prefix', '=', prefix);
  }

  /**
   * With a tenant: api_keys_tenant_id_idx; without: the primary key. Either way read backwards in
   * index order, no sort step, and the scan stops after `limit + 1` rows.
   */
  listQuery(options: ListApiKeysOptions) {
    const { limit, after, tenant } = options;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new JunctionError(StorePageLimitInvalid, `limit must be an integer in 1..${MAX_PAGE_LIMIT}`);
    }
    let query = this.#db.selectFrom('api_keys').selectAll();
    if (tenant !== undefined) query = query.where('tenant', '=', tenant);
    if (after !== undefined) query = query.where('id', '<', after);
    return query.orderBy('id', 'desc').limit(limit + 1);
  }

  /** Primary key. */
  revokeQuery(id: string, at: number) {
    return this.#db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null);
  }

  /** Primary key; the condition makes concurrent touches from several nodes write once. */
  touchQuery(id: string, at: number) {
    return this.#db
      .updateTable('api_keys')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where((eb) =>
        eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', at - LAST_USED_RESOLUTION_MS)]),
      );
  }
}

function invalid(message: string): never {
  throw new JunctionError(StoreRecordInvalid, message);
}

function checkKey(key: ApiKey): void {
  let prefix: string | undefined;
  try {
    prefix = parseId(key.id).prefix;
  } catch {
    prefix = undefined;
  }
  if (prefix !== 'jk') invalid('api key id must be a jk_ Snowflake id');
  if (!PREFIX.test(key.prefix)) invalid(`api key prefix must match ${PREFIX}`);
  if (!HASH.test(key.hash)) invalid('api key hash must be a hex SHA-256 digest');
  if (typeof key.name !== 'string' || key.name.length === 0 || key.name.length > MAX_TEXT) {
    invalid(`api key name must be 1..${MAX_TEXT} characters`);
  }
  for (const [field, list] of [
    ['scopes', key.scopes],
    ['roles', key.roles],
  ] as const) {
    const ok =
      Array.isArray(list) &&
      list.length <= MAX_ITEMS &&
      list.every((s) => typeof s === 'string' && s.length > 0 && s.length <= MAX_TEXT);
    if (!ok) invalid(`api key ${field} must be at most ${MAX_ITEMS} non-empty strings`);
  }
  if (key.tenant !== null && (typeof key.tenant !== 'string' || key.tenant.length === 0)) {
    invalid('api key tenant must be a non-empty string or null');
  }
  for (const [field, value] of [
    ['createdAt', key.createdAt],
    ['expiresAt', key.expiresAt],
  ] as const) {
    if (value !== null && !Number.isSafeInteger(value))
      invalid(`api key ${field} must be epoch milliseconds`);
  }
}

function toApiKey(row: ApiKeysTable): ApiKey {
  return {
    id: row.id,
    prefix: row.prefix,
    hash: row.hash,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    roles: JSON.parse(row.roles) as string[],
    tenant: row.tenant,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
  };
}
