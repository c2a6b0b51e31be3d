/**
 * Ids and types from a verified JSON body. Read only after the signature passed, so an attacker
 * cannot make the gateway parse anything; a body that is not JSON (Slack's slash commands are
 * form-encoded) simply yields no id.
 */
import { asBuffer } from './crypto.ts';

export type JsonObject = Record<string, unknown>;

export function jsonObject(body: Uint8Array): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(asBuffer(body).toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A string member usable as an id or type: non-empty and at most 256 characters. */
export function stringField(obj: JsonObject | undefined, key: string): string | undefined {
  const value = obj?.[key];
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
}
