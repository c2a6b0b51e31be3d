/**
 * Argument checks shared by the event-log repositories (events, deliveries, inbox, poll cursors):
 * what they refuse with `store_record_invalid` / `store_page_limit_invalid` before any SQL runs.
 * NUL is refused in names because PostgreSQL `text` cannot hold it.
 */
import { JunctionError } from '../core/errors.ts';
import { MAX_PAGE_LIMIT } from './config-revisions.ts';
import { StorePageLimitInvalid, StoreRecordInvalid } from './errors.ts';

const MAX_NAME = 200;

/** Sources, types, subscriptions, owners, consumers, message ids: 1..200 characters, no NUL. */
export function checkName(what: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME || value.includes('\0')) {
    throw new JunctionError(StoreRecordInvalid, `${what} must be 1..${MAX_NAME} characters without NUL`);
  }
}

export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new JunctionError(StorePageLimitInvalid, `limit must be an integer in 1..${MAX_PAGE_LIMIT}`);
  }
}

/** A lease or TTL length. */
export function checkPositiveMs(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new JunctionError(StoreRecordInvalid, `${what} must be a positive integer`);
  }
}

export function checkEpochMs(what: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new JunctionError(StoreRecordInvalid, `${what} must be epoch ms`);
}
