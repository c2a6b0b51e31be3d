import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import '../src/admin/errors.ts';
import '../src/config/errors.ts';
import '../src/ingress/errors.ts';
import '../src/store/errors.ts';
import { errorCatalog } from '../src/core/errors.ts';

const doc = (name: string) => readFileSync(new URL(`../docs/${name}`, import.meta.url), 'utf8');

test('every declared error code has its section in docs/errors.md, and no section is stale', () => {
  const sections = new Set([...doc('errors.md').matchAll(/^### ([a-z0-9_]+)$/gm)].map((m) => m[1]));
  const codes = errorCatalog().map((e) => e.code);
  assert.deepEqual(
    codes.filter((c) => !sections.has(c)),
    [],
    'codes without a section',
  );
  assert.deepEqual(
    [...sections].filter((s) => !codes.includes(s!)),
    [],
    'sections without a code',
  );
});

test('docs/patterns.md has one row per seed question, Q1 to Q50', () => {
  const rows = [...doc('patterns.md').matchAll(/^\| Q(\d+) \|/gm)].map((m) => Number(m[1]));
  assert.deepEqual(
    rows,
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
});
