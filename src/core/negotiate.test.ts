import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataFormat, problemFormat } from './negotiate.ts';

test('no Accept, an empty one and */* all mean JSON', () => {
  for (const accept of [undefined, '', '*/*']) {
    assert.equal(dataFormat(accept), 'json', String(accept));
    assert.equal(problemFormat(accept), 'json', String(accept));
  }
});

test('XML media types select XML, case-insensitively', () => {
  for (const accept of ['application/xml', 'text/xml', 'APPLICATION/XML', 'application/xml; charset=utf-8']) {
    assert.equal(dataFormat(accept), 'xml', accept);
    assert.equal(problemFormat(accept), 'xml', accept);
  }
  assert.equal(problemFormat('application/problem+xml'), 'xml');
  assert.equal(problemFormat('application/problem+json'), 'json');
});

test("a browser's navigation Accept gets JSON problems, which it can display; an XML client still gets XML", () => {
  const chromium =
    'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
  assert.equal(problemFormat(chromium), 'json');
  assert.equal(problemFormat('text/html;q=0.5, application/xml'), 'xml');
});

test('q-values rank the choices (RFC 9110 §12.4.2)', () => {
  assert.equal(dataFormat('application/xml;q=0.5, application/json;q=0.9'), 'json');
  assert.equal(dataFormat('application/json;q=0.4, application/xml;q=0.5'), 'xml');
  assert.equal(dataFormat('application/json;q=0.1, application/xml'), 'xml');
  assert.equal(problemFormat('application/json;q=0.1, application/xml'), 'xml');
  assert.equal(problemFormat('application/xml;q=0.2, application/problem+json;q=0.3'), 'json');
});

test("a range that covers both gives JSON; between equal ranges the client's order decides", () => {
  assert.equal(dataFormat('*/*'), 'json');
  assert.equal(dataFormat('application/*'), 'json');
  assert.equal(dataFormat('application/json;q=0.5, application/xml;q=0.5'), 'json');
  assert.equal(dataFormat('application/xml;q=0.5, application/json;q=0.5'), 'xml');
  assert.equal(problemFormat('application/xml, application/json'), 'xml');
});

test('a charset parameter matches only the charset the gateway sends (UTF-8)', () => {
  assert.equal(dataFormat('application/json; charset=utf-8'), 'json');
  assert.equal(dataFormat('application/json; charset=UTF-8'), 'json');
  assert.equal(dataFormat('application/json; charset=iso-8859-1'), undefined);
  assert.equal(problemFormat('application/json; charset=iso-8859-1, application/xml'), 'xml');
});

test('wildcards: application/* prefers JSON, text/* can only be XML', () => {
  assert.equal(dataFormat('application/*'), 'json');
  assert.equal(dataFormat('text/*'), 'xml');
  assert.equal(problemFormat('text/*'), 'xml');
  assert.equal(dataFormat('text/html, */*;q=0.1'), 'json');
});

test('the most specific range sets the q-value, so a low-q XML beats nothing but loses to */*', () => {
  assert.equal(dataFormat('*/*;q=0.5, application/xml;q=0.1'), 'json');
  assert.equal(dataFormat('application/*;q=0.1, application/xml'), 'xml');
});

test('q=0 refuses a type: JSON refused with */* leaves XML, JSON refused alone leaves nothing', () => {
  assert.equal(dataFormat('application/json;q=0, */*'), 'xml');
  assert.equal(dataFormat('application/json;q=0'), undefined);
  assert.equal(dataFormat('application/json;q=0, application/xml;q=0'), undefined);
});

test('data the client cannot take is undefined (the caller answers 406)', () => {
  for (const accept of ['text/csv', 'text/html', 'image/png, text/plain', 'application/problem+xml']) {
    assert.equal(dataFormat(accept), undefined, accept);
  }
});

test('problem documents fall back to JSON instead of refusing (never a 406 for an error)', () => {
  for (const accept of ['text/csv', 'text/html', 'image/png', 'application/json;q=0', 'garbage;;;']) {
    assert.equal(problemFormat(accept), 'json', accept);
  }
});

test('a vendor media type with a +json or +xml suffix counts as JSON or XML (RFC 6839)', () => {
  assert.equal(dataFormat('application/vnd.commerce.v2+json'), 'json');
  assert.equal(dataFormat('application/vnd.commerce.v2+xml'), 'xml');
  assert.equal(dataFormat('application/vnd.commerce.v2+json;q=0.1, application/xml'), 'xml');
  assert.equal(dataFormat('application/vnd.commerce.v2+yaml'), undefined);
});
