import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaSeconds, parseCacheControl, varyNames } from './directives.ts';
import {
  assess,
  freshnessLifetime,
  httpDate,
  initialAgeMs,
  responsePolicy,
  type StoreRules,
  storeDecision,
} from './freshness.ts';
import { DEFAULT_STATUSES } from './schema.ts';

const T0 = Date.parse('Tue, 15 Nov 1994 08:12:31 GMT');
const date = (ms: number) => new Date(ms).toUTCString();
const rules: StoreRules = { statuses: new Set(DEFAULT_STATUSES), defaultTtlMs: 0, keepStaleMs: 0 };

function lifetime(headers: Record<string, string>, defaultMs = 0) {
  return freshnessLifetime(headers, parseCacheControl(headers['cache-control']), defaultMs);
}

test('Cache-Control parsing: case-insensitive names, quoted arguments with commas, first occurrence wins', () => {
  const d = parseCacheControl([
    'Max-Age=60, no-cache="set-cookie, x-a"',
    'max-age=5, s-maxage="120", public',
  ]);
  assert.equal(d.get('max-age'), '60');
  assert.equal(d.get('no-cache'), 'set-cookie, x-a');
  assert.equal(d.get('s-maxage'), '120');
  assert.equal(d.get('public'), true);
  assert.equal(deltaSeconds(d, 's-maxage'), 120);
  assert.equal(deltaSeconds(parseCacheControl('max-age=soon'), 'max-age'), 0, 'malformed reads as stale');
  assert.equal(deltaSeconds(parseCacheControl('max-age=99999999999'), 'max-age'), 2 ** 31, '§1.2.2 cap');
  assert.equal(deltaSeconds(parseCacheControl('public'), 'max-age'), undefined);
});

test('§4.2.1: s-maxage wins in a shared cache, then max-age, then Expires minus Date', () => {
  assert.deepEqual(lifetime({ 'cache-control': 'max-age=60, s-maxage=120' }), {
    lifetimeMs: 120_000,
    explicit: true,
  });
  assert.deepEqual(
    lifetime({ 'cache-control': 'max-age=60', expires: date(T0 + 3600_000), date: date(T0) }),
    {
      lifetimeMs: 60_000,
      explicit: true,
    },
  );
  assert.deepEqual(lifetime({ expires: date(T0 + 300_000), date: date(T0) }), {
    lifetimeMs: 300_000,
    explicit: true,
  });
  assert.deepEqual(lifetime({ expires: date(T0 - 1000), date: date(T0) }), { lifetimeMs: 0, explicit: true });
});

test('§5.3: an Expires that is not a date (Expires: 0) means already expired', () => {
  assert.deepEqual(lifetime({ expires: '0', date: date(T0) }), { lifetimeMs: 0, explicit: true });
});

test('§4.2.2: without explicit freshness the configured default stands in for a heuristic', () => {
  assert.deepEqual(lifetime({}), { lifetimeMs: 0, explicit: false });
  assert.deepEqual(lifetime({}, 30_000), { lifetimeMs: 30_000, explicit: false });
});

test('§4.2.3: corrected initial age is the larger of apparent age and Age plus the response delay', () => {
  // Date 5 s before arrival, Age 10, the request left 2 s before the response arrived.
  const responseTime = T0 + 5000;
  const headers = { date: date(T0), age: '10' };
  assert.equal(initialAgeMs(headers, responseTime - 2000, responseTime), 12_000);
  // With no Age, the apparent age (clock difference) decides.
  assert.equal(initialAgeMs({ date: date(T0) }, responseTime - 100, responseTime), 5000);
  // A Date from the future (skew) does not make the age negative.
  assert.equal(initialAgeMs({ date: date(T0 + 60_000) }, T0, T0), 0);
  // Date has one-second resolution: a response arriving 900 ms into the same second is not 0.9 s old.
  assert.equal(initialAgeMs({ date: date(T0) }, T0 + 900, T0 + 900), 0);
  // A malformed Age is ignored.
  assert.equal(initialAgeMs({ age: 'old' }, T0, T0), 0);
});

test('current age adds resident time; fresh while lifetime > age; ttl goes negative once stale', () => {
  const entry = { headers: { 'cache-control': 'max-age=60' }, initialAgeMs: 12_000, storedAt: T0 };
  const early = assess(entry, T0 + 30_000, 0);
  assert.equal(early.ageMs, 42_000);
  assert.equal(early.fresh, true);
  assert.equal(early.ttlMs, 18_000);
  const late = assess(entry, T0 + 50_000, 0);
  assert.equal(late.fresh, false);
  assert.equal(late.ttlMs, -2000);
  // A client's max-age=30 (§5.2.1.1) refuses the 42 s old entry even though it is fresh.
  assert.equal(assess(entry, T0 + 30_000, 0, 30_000).fresh, false);
});

test('RFC 5861: stale-while-revalidate and stale-if-error windows start when freshness ends', () => {
  const entry = {
    headers: { 'cache-control': 'max-age=600, stale-while-revalidate=30, stale-if-error=1200' },
    initialAgeMs: 0,
    storedAt: T0,
  };
  const at = (s: number) => assess(entry, T0 + s * 1000, 0);
  assert.equal(at(599).fresh, true);
  assert.equal(at(610).serveWhileRevalidate, true);
  assert.equal(at(631).serveWhileRevalidate, false);
  assert.equal(at(1700).serveIfError, true);
  assert.equal(at(1801).serveIfError, false);
});

test('must-revalidate, proxy-revalidate and s-maxage forbid serving stale (§5.2.2.2, §5.2.2.8, §5.2.2.10)', () => {
  for (const cc of ['must-revalidate', 'proxy-revalidate', 's-maxage=600']) {
    const p = responsePolicy(
      { 'cache-control': `max-age=600, stale-while-revalidate=30, stale-if-error=60, ${cc}` },
      0,
    );
    assert.equal(p.mustRevalidate, true, cc);
    assert.equal(p.staleWhileRevalidateMs, 0, cc);
    assert.equal(p.staleIfErrorMs, 0, cc);
  }
  const noCache = responsePolicy({ 'cache-control': 'max-age=600, no-cache', etag: '"x"' }, 0);
  assert.equal(noCache.lifetimeMs, 0, 'no-cache: stored, never fresh');
});

test('store decisions: what a shared gateway cache refuses, and why', () => {
  const refused = (status: number, headers: Record<string, string>, authorized = false, r = rules) =>
    storeDecision(status, headers, authorized, r).refused;
  assert.equal(refused(200, { 'cache-control': 'max-age=60' }), undefined);
  assert.equal(refused(206, { 'cache-control': 'max-age=60' }), 'status');
  assert.equal(refused(200, { 'cache-control': 'no-store, max-age=60' }), 'no-store');
  assert.equal(refused(200, { 'cache-control': 'private, max-age=60' }), 'private');
  assert.equal(refused(200, { 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }), 'set-cookie');
  assert.equal(refused(200, { 'cache-control': 'max-age=60', vary: 'accept, *' }), 'vary-star');
  assert.equal(refused(200, { 'cache-control': 'max-age=60' }, true), 'authorization');
  assert.equal(refused(200, { 'cache-control': 'public, max-age=60' }, true), undefined);
  assert.equal(refused(200, { 'cache-control': 's-maxage=60' }, true), undefined);
  assert.equal(refused(200, { 'cache-control': 'no-cache' }), 'no-cache-without-validator');
  assert.equal(
    refused(200, { 'cache-control': 'no-cache', etag: '"a"' }, false, { ...rules, keepStaleMs: 1 }),
    undefined,
  );
  assert.equal(refused(200, {}), 'no-freshness');
  assert.equal(refused(200, {}, false, { ...rules, defaultTtlMs: 1000 }), undefined);
  assert.equal(refused(200, { 'cache-control': 'max-age=0' }), 'stale-at-once');
  const kept = storeDecision(200, { 'cache-control': 'max-age=60, stale-if-error=300' }, false, rules);
  assert.equal(kept.retainMs, 360_000, 'kept through the longest stale window');
});

test('Vary names are lowercased, deduplicated and sorted; * stands alone', () => {
  assert.deepEqual(varyNames('Accept-Language, accept-encoding,ACCEPT-LANGUAGE'), [
    'accept-encoding',
    'accept-language',
  ]);
  assert.deepEqual(varyNames(['accept', 'origin']), ['accept', 'origin']);
  assert.deepEqual(varyNames('accept, *'), ['*']);
  assert.deepEqual(varyNames(undefined), []);
});

test('HTTP-dates: the three RFC 9110 §5.6.7 forms, nothing looser', () => {
  const t = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');
  assert.equal(httpDate('Sun, 06 Nov 1994 08:49:37 GMT'), t);
  assert.equal(httpDate('Sunday, 06-Nov-94 08:49:37 GMT'), t);
  assert.equal(httpDate('Sun Nov  6 08:49:37 1994'), t);
  for (const bad of ['0', '-1', 'tomorrow', '2024-01-01', '']) assert.equal(httpDate(bad), undefined, bad);
});
