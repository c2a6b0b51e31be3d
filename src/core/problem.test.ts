import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { defineError, JunctionError } from './errors.ts';
import { ERROR_DOCS_BASE, problemResponse, renderProblem, toProblem } from './problem.ts';

const Conflict = defineError('problem_test_conflict', 409, 'Resource changed');

test('a JunctionError becomes type, title, status, code, detail, instance and requestId', () => {
  const p = toProblem(new JunctionError(Conflict, 'row 7 changed'), 'req_1', '/rows/7');
  assert.deepEqual(p, {
    type: `${ERROR_DOCS_BASE}problem_test_conflict`,
    title: 'Resource changed',
    status: 409,
    code: 'problem_test_conflict',
    detail: 'row 7 changed',
    instance: '/rows/7',
    requestId: 'req_1',
  });
  assert.equal(
    p.type,
    'https://github.com/junction-gateway/junction/blob/main/docs/errors.md#problem_test_conflict',
  );
});

test('no detail when the message is only the title; no instance or requestId unless given', () => {
  assert.deepEqual(toProblem(new JunctionError(Conflict)), {
    type: `${ERROR_DOCS_BASE}problem_test_conflict`,
    title: 'Resource changed',
    status: 409,
    code: 'problem_test_conflict',
  });
});

test('anything that is not a JunctionError is an opaque 500 that never shows its message', () => {
  const secret = 'ECONNREFUSED postgres://admin:hunter2@10.0.0.5/db';
  const thrown: unknown[] = [
    new Error(secret),
    new TypeError(secret),
    Object.assign(new Error(secret), { code: 'problem_test_conflict', status: 409, title: secret }),
    { code: 'route_not_found', status: 404, title: secret, message: secret },
    secret,
    null,
    undefined,
  ];
  for (const err of thrown) {
    const p = toProblem(err, 'req_2', '/x');
    assert.deepEqual(p, {
      type: `${ERROR_DOCS_BASE}internal_error`,
      title: 'Internal error',
      status: 500,
      code: 'internal_error',
      instance: '/x',
      requestId: 'req_2',
    });
    assert.ok(!('detail' in p));
    for (const format of ['json', 'xml'] as const) {
      assert.doesNotMatch(renderProblem(p, format).body, /hunter2|ECONNREFUSED/);
    }
  }
});

test('the cause of a JunctionError stays out of the document', () => {
  const err = new JunctionError(Conflict, 'row changed', { cause: new Error('hunter2') });
  assert.doesNotMatch(JSON.stringify(toProblem(err)), /hunter2/);
});

test('extensions are added but cannot replace the standard members', () => {
  const err = new JunctionError(Conflict, 'changed', {
    extensions: {
      versions: ['1', '2'],
      status: 200,
      code: 'ok',
      type: 'https://evil.example/',
      title: 'All good',
      detail: 'overridden',
      requestId: 'req_forged',
    },
  });
  const p = toProblem(err, 'req_3');
  assert.equal(p.status, 409);
  assert.equal(p.code, 'problem_test_conflict');
  assert.equal(p.type, `${ERROR_DOCS_BASE}problem_test_conflict`);
  assert.equal(p.title, 'Resource changed');
  assert.equal(p.detail, 'changed');
  assert.equal(p.requestId, 'req_3');
  assert.deepEqual(p.versions, ['1', '2']);
});

test('JSON rendering is application/problem+json with the status', () => {
  const r = renderProblem(toProblem(new JunctionError(Conflict, 'd'), 'req_4'), 'json');
  assert.equal(r.status, 409);
  assert.deepEqual(r.headers, { 'content-type': 'application/problem+json; charset=utf-8' });
  assert.equal(JSON.parse(r.body).code, 'problem_test_conflict');
});

test('XML rendering is application/problem+xml in the urn:ietf:rfc:7807 namespace (RFC 9457 App. B)', () => {
  const err = new JunctionError(Conflict, 'a <b> & c', { extensions: { versions: ['1', '2'] } });
  const r = renderProblem(toProblem(err, 'req_5', '/p'), 'xml');
  assert.equal(r.headers['content-type'], 'application/problem+xml; charset=utf-8');
  assert.equal(XMLValidator.validate(r.body), true);
  assert.match(r.body, /^<\?xml version="1\.0" encoding="UTF-8"\?><problem xmlns="urn:ietf:rfc:7807">/);
  const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(r.body);
  assert.deepEqual(doc.problem, {
    '@_xmlns': 'urn:ietf:rfc:7807',
    type: `${ERROR_DOCS_BASE}problem_test_conflict`,
    title: 'Resource changed',
    status: '409',
    code: 'problem_test_conflict',
    detail: 'a <b> & c',
    instance: '/p',
    requestId: 'req_5',
    versions: { item: ['1', '2'] },
  });
});

test("problemResponse negotiates the format and adds the error's own headers", () => {
  const Limited = defineError('problem_test_limited', 405, 'Nope');
  const err = new JunctionError(Limited, undefined, { headers: { allow: 'GET, HEAD' } });
  const json = problemResponse(err, 'text/csv', 'req_6');
  assert.equal(json.status, 405);
  assert.equal(json.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(json.headers.allow, 'GET, HEAD');
  const xml = problemResponse(err, 'application/xml', 'req_6');
  assert.equal(xml.headers['content-type'], 'application/problem+xml; charset=utf-8');
  assert.equal(xml.headers.allow, 'GET, HEAD');
  assert.equal(problemResponse(new Error('x'), undefined).status, 500);
});
