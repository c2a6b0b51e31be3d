import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pacingFeedback } from './rate-limit-headers.ts';

const NOW = Date.UTC(2026, 10, 1, 12, 0, 0);

test('a 429 is a throttle; Retry-After in seconds or as an HTTP-date says how long to pause', () => {
  assert.deepEqual(pacingFeedback(429, { 'retry-after': '3' }, NOW), {
    throttled: true,
    pauseMs: 3_000,
    hintIntervalMs: undefined,
    hintForMs: undefined,
    policyIntervalMs: undefined,
    policyForMs: undefined,
  });
  const date = new Date(NOW + 5_000).toUTCString();
  assert.equal(pacingFeedback(429, { 'retry-after': date }, NOW)?.pauseMs, 5_000);
  assert.equal(pacingFeedback(429, {}, NOW)?.pauseMs, undefined, 'a 429 without a time still throttles');
});

test('a 503 is a throttle only with Retry-After; other statuses without rate-limit fields say nothing', () => {
  assert.equal(pacingFeedback(503, { 'retry-after': '1' }, NOW)?.throttled, true);
  assert.equal(pacingFeedback(503, {}, NOW), undefined);
  assert.equal(pacingFeedback(200, { 'retry-after': '9' }, NOW), undefined);
  assert.equal(pacingFeedback(500, {}, NOW), undefined);
});

test('IETF RateLimit (draft-10): the most constraining policy gives the spacing until its reset', () => {
  const fb = pacingFeedback(200, { ratelimit: '"burst";r=50;t=10, "daily";r=100;t=3600' }, NOW)!;
  assert.equal(fb.throttled, false);
  assert.equal(fb.pauseMs, undefined);
  assert.equal(fb.hintIntervalMs, 36_000, 'daily: 100 calls in an hour');
  assert.equal(fb.hintForMs, 3_600_000);
});

test('RateLimit with r=0 pauses until the quota is restored; a 429 prefers its Retry-After', () => {
  assert.equal(pacingFeedback(200, { ratelimit: '"default";r=0;t=7' }, NOW)?.pauseMs, 7_000);
  assert.equal(pacingFeedback(429, { ratelimit: '"default";r=0;t=7' }, NOW)?.pauseMs, 7_000);
  assert.equal(
    pacingFeedback(429, { ratelimit: '"default";r=0;t=7', 'retry-after': '2' }, NOW)?.pauseMs,
    2_000,
  );
});

test('RateLimit-Policy gives the published quota as a spacing; quotas not in requests are ignored', () => {
  const fb = pacingFeedback(200, { 'ratelimit-policy': '"minute";q=100;w=60, "day";q=5000;w=86400' }, NOW)!;
  assert.equal(fb.policyIntervalMs, 17_280, '5000 a day is the tighter spacing');
  assert.equal(fb.policyForMs, 86_400_000);
  const bytes = pacingFeedback(200, { 'ratelimit-policy': '"b";q=1000;qu="content-bytes";w=1' }, NOW);
  assert.equal(bytes?.policyIntervalMs, undefined);
});

test('older forms: draft-07 dictionary, RateLimit-Remaining/Reset, X-RateLimit-* with Unix-time resets', () => {
  assert.equal(pacingFeedback(200, { ratelimit: 'limit=100, remaining=0, reset=4' }, NOW)?.pauseMs, 4_000);
  assert.equal(
    pacingFeedback(200, { 'ratelimit-remaining': '5', 'ratelimit-reset': '10' }, NOW)?.hintIntervalMs,
    2_000,
  );
  const epochSeconds = String(Math.floor(NOW / 1000) + 30);
  const github = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': epochSeconds };
  assert.equal(pacingFeedback(200, github, NOW)?.pauseMs, 30_000);
  const ms = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW + 1_500) };
  assert.equal(pacingFeedback(200, ms, NOW)?.pauseMs, 1_500);
});

test('garbage in rate-limit fields is ignored, never an error', () => {
  assert.equal(pacingFeedback(200, { ratelimit: ';;=,"' }, NOW), undefined);
  assert.equal(pacingFeedback(200, { 'x-ratelimit-remaining': '-1' }, NOW), undefined);
  assert.equal(pacingFeedback(200, { ratelimit: '"p";r=1.5;t=x' }, NOW), undefined);
  assert.equal(pacingFeedback(200, { 'ratelimit-policy': '"p";q=0;w=60' }, NOW)?.policyIntervalMs, undefined);
});
