/**
 * Leases of Snowflake node ids (src/core/ids.ts, Q35). Ids are unique only while no two live processes
 * share a node id, so each process leases one here at start, heartbeats it, and releases it on stop.
 * A lease whose heartbeat is older than the TTL is free for the taking: its holder is presumed dead.
 *
 * Claiming is one conditional upsert, atomic on both dialects: insert the id, or take the row over only
 * if its heartbeat is still older than the cutoff when the database looks at it under the row lock
 * (https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT,
 * https://www.sqlite.org/lang_upsert.html). Racing claimers of one id: exactly one gets the row back from
 * RETURNING, the others move on to the next candidate. On SQLite the whole lease runs in one
 * `BEGIN IMMEDIATE` transaction (src/store/sqlite-dialect.ts), so processes sharing the file queue on the
 * write lock and never even collide.
 *
 * Every query is built by a `…Query` method so the query-plan test explains exactly what runs (Q49).
 */
import os from 'node:os';
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { MAX_NODE_ID } from '../core/ids.ts';
import { StoreNodeIdsExhausted, StoreRecordInvalid } from './errors.ts';
import type { Database, NodesTable } from './schema.ts';

export interface NodeLease {
  nodeId: number;
  instanceId: string;
  hostname: string | null;
  pid: number | null;
  startedAt: number | null;
  heartbeatAt: number;
}

export interface NodeRepositoryOptions {
  /** Recorded with each lease, for operators; defaults to this process's. */
  hostname?: string;
  pid?: number;
}

export class NodeRepository {
  readonly #db: Kysely<Database>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #hostname: string;
  readonly #pid: number;

  constructor(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', options: NodeRepositoryOptions = {}) {
    this.#db = db;
    this.#dialect = dialect;
    this.#hostname = options.hostname ?? os.hostname();
    this.#pid = options.pid ?? process.pid;
  }

  /**
   * Claims the lowest node id that is free or whose heartbeat is older than `ttlMs`.
   * @throws JunctionError `store_node_ids_exhausted` when all 1024 ids are held by live leases.
   * @example
   * const nodeId = await store.nodes.lease(randomUUID(), 30_000);
   * const ids = new Snowflake({ nodeId });
   */
  async lease(instanceId: string, ttlMs: number, now: number = Date.now()): Promise<number> {
    checkInstanceId(instanceId);
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
      throw new JunctionError(StoreRecordInvalid, 'lease ttlMs must be a positive integer');
    }
    const cutoff = now - ttlMs;
    const claim = async (db: Kysely<Database>): Promise<number | undefined> => {
      const live = new Set((await this.liveQuery(cutoff, db).execute()).map((r) => r.node_id));
      for (let nodeId = 0; nodeId <= MAX_NODE_ID; nodeId++) {
        if (live.has(nodeId)) continue;
        const won = await this.claimQuery(nodeId, instanceId, now, cutoff, db).executeTakeFirst();
        if (won !== undefined) return nodeId;
        // Another process claimed it between our read and our write (PostgreSQL only): try the next.
      }
      return undefined;
    };
    const nodeId =
      this.#dialect === 'sqlite' ? await this.#db.transaction().execute(claim) : await claim(this.#db);
    if (nodeId === undefined) {
      throw new JunctionError(StoreNodeIdsExhausted, `all ${MAX_NODE_ID + 1} node ids are leased`);
    }
    return nodeId;
  }

  /**
   * Renews a lease. False means the lease is no longer this instance's (taken over after expiry, or
   * released): the caller must stop issuing ids with that node id. A lease that expired but that nobody
   * took yet is still this instance's row, so it renews; the caller decides whether a missed deadline
   * alone should stop it.
   */
  async heartbeat(nodeId: number, instanceId: string, now: number = Date.now()): Promise<boolean> {
    const result = await this.heartbeatQuery(nodeId, instanceId, now).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Gives the id back at shutdown; false if this instance no longer held it. */
  async release(nodeId: number, instanceId: string): Promise<boolean> {
    const result = await this.releaseQuery(nodeId, instanceId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Every lease row, live or expired, by node id. */
  async list(): Promise<NodeLease[]> {
    return (await this.listQuery().execute()).map(toLease);
  }

  /** Node ids whose heartbeat is at or after `cutoff`. Index: nodes_heartbeat_at_idx. */
  liveQuery(cutoff: number, db: Kysely<Database> = this.#db) {
    return db.selectFrom('nodes').select('node_id').where('heartbeat_at', '>=', cutoff);
  }

  /** Insert, or take over an expired row; returns the row only if this call got it. Index: primary key. */
  claimQuery(
    nodeId: number,
    instanceId: string,
    now: number,
    cutoff: number,
    db: Kysely<Database> = this.#db,
  ) {
    return db
      .insertInto('nodes')
      .values({
        node_id: nodeId,
        instance_id: instanceId,
        hostname: this.#hostname,
        pid: this.#pid,
        started_at: now,
        heartbeat_at: now,
      })
      .onConflict((oc) =>
        oc
          .column('node_id')
          .doUpdateSet((eb) => ({
            instance_id: eb.ref('excluded.instance_id'),
            hostname: eb.ref('excluded.hostname'),
            pid: eb.ref('excluded.pid'),
            started_at: eb.ref('excluded.started_at'),
            heartbeat_at: eb.ref('excluded.heartbeat_at'),
          }))
          .where('nodes.heartbeat_at', '<', cutoff),
      )
      .returning('node_id');
  }

  /** Index: primary key. */
  heartbeatQuery(nodeId: number, instanceId: string, now: number) {
    return this.#db
      .updateTable('nodes')
      .set({ heartbeat_at: now })
      .where('node_id', '=', nodeId)
      .where('instance_id', '=', instanceId);
  }

  /** Index: primary key. */
  releaseQuery(nodeId: number, instanceId: string) {
    return this.#db.deleteFrom('nodes').where('node_id', '=', nodeId).where('instance_id', '=', instanceId);
  }

  /** Whole table (at most 1024 rows) in primary-key order. */
  listQuery() {
    return this.#db.selectFrom('nodes').selectAll().orderBy('node_id');
  }
}

function checkInstanceId(instanceId: string): void {
  if (typeof instanceId !== 'string' || instanceId.length === 0 || instanceId.length > 200) {
    throw new JunctionError(StoreRecordInvalid, 'instanceId must be a string of 1..200 characters');
  }
}

function toLease(row: NodesTable): NodeLease {
  return {
    nodeId: row.node_id,
    instanceId: row.instance_id,
    hostname: row.hostname,
    pid: row.pid,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
  };
}
