import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from './trace-context.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;

test('a version 00 traceparent parses into trace id, parent id and flags', () => {
  assert.deepEqual(parseTraceparent(VALID), { traceId: TRACE, parentId: SPAN, flags: 1 });
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, parentId: SPAN, flags: 0 });
  // Unknown flag bits are kept as received (§3.2.2.5).
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.flags, 3);
});

test('a future version is read by its version 00 fields, with or without more fields after a dash', () => {
  assert.deepEqual(parseTraceparent(`01-${TRACE}-${SPAN}-01`), { traceId: TRACE, parentId: SPAN, flags: 1 });
  assert.deepEqual(parseTraceparent(`cc-${TRACE}-${SPAN}-01-what-the-future-holds`), {
    traceId: TRACE,
    parentId: SPAN,
    flags: 1,
  });
  // §3.2.4: after the flags of a higher version, the next character must be a dash.
  assert.equal(parseTraceparent(`cc-${TRACE}-${SPAN}-01xyz`), undefined);
});

test('version 00 with anything after the flags is rejected', () => {
  assert.equal(parseTraceparent(`${VALID}-extra`), undefined);
  assert.equal(parseTraceparent(`${VALID} `), undefined);
  assert.equal(parseTraceparent(`${VALID}0`), undefined);
});

test('version ff is invalid, and so is a version that is not two lowercase hex digits', () => {
  assert.equal(parseTraceparent(`ff-${TRACE}-${SPAN}-01`), undefined);
  assert.equal(parseTraceparent(`FF-${TRACE}-${SPAN}-01`), undefined);
  assert.equal(parseTraceparent(`0g-${TRACE}-${SPAN}-01`), undefined);
  assert.equal(parseTraceparent(`0A-${TRACE}-${SPAN}-01`), undefined);
});

test('non-hex or uppercase hex anywhere is rejected', () => {
  assert.equal(parseTraceparent(`00-${TRACE.toUpperCase()}-${SPAN}-01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN.toUpperCase()}-01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE.slice(0, 31)}g-${SPAN}-01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN.slice(0, 15)}z-01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-0x`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-0A`), undefined);
});

test('all-zero trace id or parent id is rejected', () => {
  assert.equal(parseTraceparent(`00-${'0'.repeat(32)}-${SPAN}-01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE}-${'0'.repeat(16)}-01`), undefined);
});

test('wrong lengths and wrong separators are rejected', () => {
  assert.equal(parseTraceparent(undefined), undefined);
  assert.equal(parseTraceparent(''), undefined);
  assert.equal(parseTraceparent(VALID.slice(0, 54)), undefined);
  assert.equal(parseTraceparent(`00-${TRACE}0-${SPAN.slice(1)}-01`), undefined);
  assert.equal(parseTraceparent(`00_${TRACE}_${SPAN}_01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-1`), undefined);
  assert.equal(parseTraceparent(` ${VALID.slice(1)}`), undefined);
});

test('formatTraceparent writes version 00 with the flags byte as given', () => {
  assert.equal(formatTraceparent(TRACE, SPAN, 3), `00-${TRACE}-${SPAN}-03`);
  assert.equal(formatTraceparent(TRACE, SPAN, 1), VALID);
  assert.equal(formatTraceparent(TRACE, SPAN, 0), `00-${TRACE}-${SPAN}-00`);
  assert.deepEqual(parseTraceparent(formatTraceparent(TRACE, SPAN, 1)), {
    traceId: TRACE,
    parentId: SPAN,
    flags: 1,
  });
});

test('new ids are lowercase hex of the right length, never all zero, and unique over 10k', () => {
  const traces = new Set<string>();
  const spans = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const t = newTraceId();
    const s = newSpanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    assert.notEqual(t, '0'.repeat(32));
    assert.notEqual(s, '0'.repeat(16));
    traces.add(t);
    spans.add(s);
  }
  assert.equal(traces.size, 10_000);
  assert.equal(spans.size, 10_000);
});
