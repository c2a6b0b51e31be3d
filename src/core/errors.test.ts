import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineError, errorCatalog, Internal, isJunctionError, JunctionError } from './errors.ts';

test('defineError freezes the spec and lists it in the catalog', () => {
  const spec = defineError('errors_test_listed', 418, 'A teapot');
  assert.deepEqual(spec, { code: 'errors_test_listed', status: 418, title: 'A teapot' });
  assert.ok(Object.isFrozen(spec));
  assert.ok(errorCatalog().some((s) => s === spec));
  const codes = errorCatalog().map((s) => s.code);
  assert.deepEqual(
    codes,
    [...codes].sort((a, b) => a.localeCompare(b)),
  );
});

test('defineError refuses a code declared twice, including the core ones', () => {
  defineError('errors_test_twice', 400, 'Once');
  assert.throws(() => defineError('errors_test_twice', 400, 'Twice'), {
    name: 'TypeError',
    message: /declared twice/,
  });
  assert.throws(() => defineError('internal_error', 500, 'Again'), /declared twice/);
});

test('defineError refuses codes that are not lowercase snake_case', () => {
  for (const code of [
    '',
    'Upper',
    'camelCase',
    'kebab-case',
    'with space',
    '_leading',
    '9lives',
    'dot.ted',
    'ünï',
  ]) {
    assert.throws(() => defineError(code, 400, 'Bad'), { name: 'TypeError', message: /snake_case/ }, code);
  }
  assert.ok(!errorCatalog().some((s) => s.code === 'kebab-case'));
});

test('JunctionError carries code, status, title; the message defaults to the title', () => {
  const spec = defineError('errors_test_fields', 409, 'Conflict here');
  const bare = new JunctionError(spec);
  assert.equal(bare.message, 'Conflict here');
  assert.equal(bare.code, 'errors_test_fields');
  assert.equal(bare.status, 409);
  assert.equal(bare.title, 'Conflict here');
  assert.equal(bare.name, 'JunctionError');
  assert.equal(bare.cause, undefined);
  assert.ok(bare instanceof Error);
  assert.ok(isJunctionError(bare));

  const root = new Error('socket hang up');
  const full = new JunctionError(spec, 'row 7 changed', {
    cause: root,
    extensions: { row: 7 },
    headers: { 'retry-after': '1' },
  });
  assert.equal(full.message, 'row 7 changed');
  assert.equal(full.cause, root);
  assert.deepEqual(full.extensions, { row: 7 });
  assert.deepEqual(full.headers, { 'retry-after': '1' });
});

test('only JunctionError instances count as ones, not look-alikes', () => {
  assert.equal(isJunctionError(new Error('x')), false);
  assert.equal(isJunctionError({ ...Internal, message: 'x', name: 'JunctionError' }), false);
  assert.equal(isJunctionError(null), false);
  assert.equal(isJunctionError('internal_error'), false);
});
