/**
 * Starts Junction the way an operator does: `node src/cli/main.ts start -c junction.yaml`, in its
 * own process, with a config generated into a temp dir. Its stdout (the structured log, access log
 * included) goes to a file there, as in production: writing the log is part of the cost measured,
 * and the harness's stdout stays clean.
 */
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { Child, freePort, waitForHttp } from './children.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(ROOT, 'src/cli/main.ts');

export interface JunctionOptions {
  tmp: string;
  logLevel: 'warn' | 'info';
  /** Config sections besides listeners, store, observability and reload. */
  config: Record<string, unknown>;
  readyTimeoutMs?: number;
}

export interface RunningJunction {
  child: Child;
  proxyOrigin: string;
  adminOrigin: string;
  logFile: string;
  logBytes(): number;
}

/** Why Junction cannot run here, or undefined when it can. */
export function junctionUnavailable(): string | undefined {
  return existsSync(CLI) ? undefined : `${path.relative(ROOT, CLI)} does not exist yet`;
}

export async function startJunction(options: JunctionOptions): Promise<RunningJunction> {
  const missing = junctionUnavailable();
  if (missing) throw new Error(missing);
  const [proxyPort, adminPort] = [await freePort(), await freePort()];
  const config = {
    listeners: {
      proxy: { host: '127.0.0.1', port: proxyPort },
      admin: { host: '127.0.0.1', port: adminPort },
    },
    store: { url: 'sqlite::memory:' },
    observability: { logLevel: options.logLevel },
    reload: { watch: false },
    ...options.config,
  };
  const configFile = path.join(options.tmp, 'junction.yaml');
  const logFile = path.join(options.tmp, 'junction.log');
  await writeFile(configFile, stringify(config));
  const logFd = openSync(logFile, 'a');
  const child = new Child('junction', process.execPath, [CLI, 'start', '-c', configFile], {
    cwd: ROOT,
    stdout: logFd,
  });
  closeSync(logFd); // the child holds its own copy
  const adminOrigin = `http://127.0.0.1:${adminPort}`;
  try {
    await child.whileRunning(waitForHttp(`${adminOrigin}/readyz`, options.readyTimeoutMs ?? 20_000));
  } catch (err) {
    // An exit already carries stderr in its message; a timeout does not.
    const stderr = child.running ? `\n${child.stderrTail()}` : '';
    await child.stop();
    throw new Error(`junction did not become ready: ${(err as Error).message}${stderr}`);
  }
  return {
    child,
    proxyOrigin: `http://127.0.0.1:${proxyPort}`,
    adminOrigin,
    logFile,
    logBytes: () => statSync(logFile).size,
  };
}
