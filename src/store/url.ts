/**
 * Which database a store opens. Explicit option, then `JUNCTION_DATABASE_URL`, then a SQLite file
 * `junction.db` in the data directory (`dataDir` option, then `JUNCTION_DATA_DIR`, then `./data`).
 *
 * Error messages name the scheme only: a PostgreSQL URL may carry a password.
 */
import path from 'node:path';
import { JunctionError } from '../core/errors.ts';
import { StoreUrlInvalid } from './errors.ts';

export type StoreTarget =
  /** `dir`: create this directory before opening (absent for `:memory:`). */
  { dialect: 'sqlite'; path: string; dir?: string } | { dialect: 'postgres'; url: string };

export interface StoreUrlOptions {
  url?: string;
  dataDir?: string;
}

export const DEFAULT_DATA_DIR = './data';
export const SQLITE_FILE = 'junction.db';

/**
 * @example
 * resolveStoreTarget({}, { JUNCTION_DATA_DIR: '/var/lib/junction' })
 * // { dialect: 'sqlite', path: '/var/lib/junction/junction.db', dir: '/var/lib/junction' }
 */
export function resolveStoreTarget(
  options: StoreUrlOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): StoreTarget {
  const url = options.url ?? nonEmpty(env.JUNCTION_DATABASE_URL);
  if (url !== undefined) return parseStoreUrl(url);
  const dir = options.dataDir ?? nonEmpty(env.JUNCTION_DATA_DIR) ?? DEFAULT_DATA_DIR;
  return { dialect: 'sqlite', path: path.join(dir, SQLITE_FILE), dir };
}

/**
 * `sqlite:<path>` (relative to the working directory, or absolute: `sqlite:/var/db/j.db`),
 * `sqlite::memory:`, `postgres://…` and `postgresql://…`.
 */
export function parseStoreUrl(url: string): StoreTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return { dialect: 'postgres', url };
  if (scheme === 'sqlite') {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw new JunctionError(StoreUrlInvalid, 'sqlite: URL has no path');
    if (file === ':memory:') return { dialect: 'sqlite', path: file };
    return { dialect: 'sqlite', path: file, dir: path.dirname(file) };
  }
  const named = scheme === undefined ? 'no scheme' : `scheme ${scheme}:`;
  throw new JunctionError(
    StoreUrlInvalid,
    `database URL has ${named}; use sqlite:<path>, sqlite::memory: or postgres://`,
    { extensions: { scheme: scheme ?? null } },
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
