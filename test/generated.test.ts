import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigDocs } from '../src/cli/config-docs.ts';

test('docs/configuration.md is what `npm run schema` generates from the current schema', () => {
  const committed = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigDocs(), 'run `npm run schema` and commit the result');
});
