#!/usr/bin/env node
// Runs the TypeScript CLI on Node 24 (type stripping). When the Node running this is older, hand
// over to the Node 24 that package.json pins (the `node` devDependency) instead of failing.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
if (Number(process.versions.node.split('.')[0]) >= 24) {
  await import(main);
} else {
  const pinned = createRequire(import.meta.url).resolve('node/bin/node');
  const r = spawnSync(pinned, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
