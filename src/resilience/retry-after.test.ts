import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHttpDate, parseRetryAfter } from './retry-after.ts';

const now = Date.UTC(2026, 10, 25, 12, 0, 0); // Wed, 25 Nov 2026 12:00:00 GMT

test('delay-seconds becomes milliseconds', () => {
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('0', now), 0);
  assert.equal(parseRetryAfter(' 5 ', now), 5_000);
});

test('an IMF-fixdate is the time from now until then', () => {
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Thu, 26 Nov 2026 12:00:00 GMT', now), 86_400_000);
});

test('the obsolete RFC 850 and asctime forms are accepted too', () => {
  assert.equal(parseRetryAfter('Wednesday, 25-Nov-26 12:01:00 GMT', now), 60_000);
  assert.equal(parseRetryAfter('Wed Nov 25 12:00:10 2026', now), 10_000);
  assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994', now), Date.UTC(1994, 10, 6, 8, 49, 37));
});

test('a two-digit year more than 50 years ahead means the last century', () => {
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now), Date.UTC(1994, 10, 6, 8, 49, 37));
  assert.equal(parseHttpDate('Monday, 06-Nov-30 08:49:37 GMT', now), Date.UTC(2030, 10, 6, 8, 49, 37));
});

test('a date in the past means retry now', () => {
  assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 0);
});

test('garbage, negative and fractional values are undefined', () => {
  for (const value of [
    undefined,
    '',
    '-5',
    '1.5',
    '1e3',
    '+3',
    'soon',
    '12 apples',
    '2026-11-25T12:00:30Z',
    'Wed, 25 Nov 2026 12:00:30 UTC',
    'Wed, 31 Feb 2026 12:00:30 GMT',
    'Wed, 25 Nov 2026 24:00:00 GMT',
    'wed, 25 nov 2026 12:00:30 gmt',
  ]) {
    assert.equal(parseRetryAfter(value, now), undefined, String(value));
  }
});

test('a field sent once in an array is read; repeated, it is ignored', () => {
  assert.equal(parseRetryAfter(['7'], now), 7_000);
  assert.equal(parseRetryAfter(['7', '9'], now), undefined);
  assert.equal(parseRetryAfter([], now), undefined);
});
