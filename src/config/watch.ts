/**
 * Reload on file change. Editors save by writing a new file and renaming it over the old one, which
 * replaces the inode a file watch follows; so the directory is watched and events are filtered by
 * name, then debounced (one save often fires several events).
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../core/logger.ts';

export function watchConfig(file: string, onChange: () => void, logger: Logger, debounceMs = 150): FSWatcher {
  const path = resolve(file);
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  watcher.on('error', (err) =>
    logger.error({ err, file: path }, 'config watch failed; reload with POST /admin/v1/config/reload'),
  );
  return watcher;
}
