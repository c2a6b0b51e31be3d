import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJunctionError } from '../../core/errors.ts';
import { nextPageUrl } from './link.ts';

const here = 'https://api.test/v1/items?page=2';

test('the next link resolves against the requested URL', () => {
  assert.equal(nextPageUrl('</v1/items?page=3>; rel="next"', here), 'https://api.test/v1/items?page=3');
  assert.equal(nextPageUrl('<items?page=3>; rel=next', here), 'https://api.test/v1/items?page=3');
  assert.equal(nextPageUrl('<https://other.test/p/3>; rel="next"', here), 'https://other.test/p/3');
});

test('several links, several relation types in one rel, any case (RFC 8288 §3.3)', () => {
  const header = '<https://api.test/p/1>; rel="first prev", <https://api.test/p/3>; rel="NEXT"; title="a, b"';
  assert.equal(nextPageUrl(header, here), 'https://api.test/p/3');
  assert.equal(nextPageUrl('<https://api.test/p/9>; rel="last next"', here), 'https://api.test/p/9');
  assert.equal(
    nextPageUrl(['<https://api.test/p/1>; rel="prev"', '<https://api.test/p/3>; rel="next"'], here),
    'https://api.test/p/3',
  );
});

test('no next page: no header, other relations only, or a link about another resource', () => {
  assert.equal(nextPageUrl(undefined, here), undefined);
  assert.equal(nextPageUrl('', here), undefined);
  assert.equal(nextPageUrl('<https://api.test/p/1>; rel="prev"', here), undefined);
  assert.equal(nextPageUrl('<https://api.test/p/3>; rel="next"; anchor="#other"', here), undefined);
});

test('a malformed Link header is an error, not a silent last page', () => {
  assert.throws(
    () => nextPageUrl('page=3', here),
    (e) => isJunctionError(e) && e.code === 'poll_response_invalid',
  );
});
