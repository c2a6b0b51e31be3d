import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExpiry } from './keys.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');

test('--expires takes a duration in s, m, h or d, or a future date-time', () => {
  assert.equal(parseExpiry('30d', NOW), NOW + 30 * 86_400_000);
  assert.equal(parseExpiry('12h', NOW), NOW + 12 * 3_600_000);
  assert.equal(parseExpiry('90m', NOW), NOW + 90 * 60_000);
  assert.equal(parseExpiry('3600s', NOW), NOW + 3_600_000);
  assert.equal(parseExpiry('2027-01-01T00:00:00Z', NOW), Date.parse('2027-01-01T00:00:00Z'));
});

test('--expires refuses the past, zero, and what it cannot read', () => {
  for (const bad of ['0d', '2001-01-01T00:00:00Z', 'tomorrow', '30 d', '-1h', '1w', '']) {
    assert.throws(() => parseExpiry(bad, NOW), /--expires/, bad);
  }
});
