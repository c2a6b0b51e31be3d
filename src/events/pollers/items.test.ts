import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJunctionError } from '../../core/errors.ts';
import { compareCursors, externalIdOf, fieldOf, itemsAt, laterCursor } from './items.ts';

test('items are the body or the array at a JSON pointer (RFC 6901)', () => {
  assert.deepEqual(itemsAt([1, 2], ''), [1, 2]);
  assert.deepEqual(itemsAt({ result: { 'a/b': [3] } }, '/result/a~1b'), [3]);
  for (const [body, pointer] of [
    [{ data: {} }, '/data'],
    [{}, '/data'],
    [{ data: [] }, ''],
  ] as const) {
    assert.throws(
      () => itemsAt(body, pointer),
      (e) => isJunctionError(e) && e.code === 'poll_response_invalid',
    );
  }
});

test('the external id is the id, or id@version so that a changed item is a new event', () => {
  assert.equal(externalIdOf({ id: 42 }, { id: 'id' }), '42');
  assert.equal(externalIdOf({ id: 'a', v: 3 }, { id: 'id', version: 'v' }), 'a@3');
  assert.equal(externalIdOf({ meta: { key: 'k' } }, { id: '/meta/key' }), 'k');
  assert.equal(externalIdOf({ id: '' }, { id: 'id' }), undefined);
  assert.equal(externalIdOf({ id: { nested: 1 } }, { id: 'id' }), undefined);
  assert.equal(
    externalIdOf({ id: 'a' }, { id: 'id', version: 'v' }),
    undefined,
    'a version field that is missing',
  );
  assert.equal(fieldOf({ toString: 1 }, 'constructor'), undefined, 'own fields only');
});

test('cursors compare as numbers when numeric, else as strings; the later one wins', () => {
  assert.ok(compareCursors(10, 9) > 0);
  assert.ok(compareCursors('10', 9) > 0, 'a stored cursor is a string');
  assert.ok(compareCursors('2026-11-25T10:00:00Z', '2026-11-25T09:59:59Z') > 0);
  assert.equal(laterCursor(undefined, { t: 5 }, 't'), 5);
  assert.equal(laterCursor('7', { t: 5 }, 't'), '7', 'never moves back');
  assert.equal(laterCursor('7', { x: 9 }, 't'), '7', 'an item without the field leaves it');
});
