import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorCatalog } from '../src/core/errors.ts';

// Every area declares its codes in an errors.ts; load them all so the catalog is complete.
const src = new URL('../src/', import.meta.url);
for (const file of readdirSync(src, { recursive: true }) as string[]) {
  if (file.endsWith('errors.ts')) await import(new URL(file, src).href);
}

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
