#!/usr/bin/env node
// Runs the TypeScript CLI on Node 24 (type stripping). When the Node running this is older, hand
// over to the Node 24 that package.json pins (the `node` devDependency) instead of failing.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
if (Number(process.versions.node.split('.')[0]) >= 24) {
  await import(main);
} else {
  const pinned = createRequire(import.meta.url).resolve('node/bin/node');
  const child = spawn(pinned, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  // A supervisor signals this process, not its child: pass the signal on so `junction start` drains
  // and exits 0 instead of being orphaned (a blocking spawnSync would leave the child running).
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const signal of signals) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    process.stderr.write(`junction: cannot run ${pinned}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    // Die of the same signal, so whoever waits on us sees what happened to the gateway.
    for (const s of signals) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  });
}
