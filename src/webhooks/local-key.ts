/**
 * The embedded gateway's own encryption key for endpoint secrets (DESIGN.md: endpoint secrets are
 * encrypted at rest). Without `webhooks.encryptionKey`, a gateway on SQLite keeps a random 32-byte key
 * in `webhooks.key` beside its database file (mode 0600, created once), so the laptop default seals
 * secrets too: a copy of the database file alone — a backup, an attachment to a bug report — holds no
 * key that signs. Several nodes on PostgreSQL must share one key, which no node can make up, so there
 * the key comes from config (a warning at start says so when it is missing).
 *
 * The file key has version 0, below any configured `keyVersion` (≥ 1): when a key is configured later,
 * the file key stays a previous key and what it sealed keeps opening.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WebhookSettings } from './settings.ts';

export const LOCAL_KEY_FILE = 'webhooks.key';
export const LOCAL_KEY_VERSION = 0;

/**
 * The key in `<dir>/webhooks.key`, created when missing. Two processes starting at once both try an
 * exclusive create; the loser reads the winner's key.
 * @example
 * const key = localKey('./data'); // 43 base64 characters and '='
 */
export function localKey(dir: string): string {
  const file = path.join(dir, LOCAL_KEY_FILE);
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(file, 'utf8').trim();
}

const withKey = new WeakMap<WebhookSettings, WebhookSettings>();

/**
 * The settings with the local key folded in: the current key when none is configured, else one more
 * previous key. The same object for the same settings, so per-settings caches (secretBoxOf) hold.
 */
export function withLocalKey(settings: WebhookSettings, key: string | undefined): WebhookSettings {
  if (key === undefined) return settings;
  let out = withKey.get(settings);
  if (out === undefined) {
    out =
      settings.encryptionKey === undefined
        ? { ...settings, encryptionKey: key, keyVersion: LOCAL_KEY_VERSION }
        : { ...settings, previousKeys: [...settings.previousKeys, { version: LOCAL_KEY_VERSION, key }] };
    withKey.set(settings, out);
  }
  return out;
}
