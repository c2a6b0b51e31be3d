import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { toXml } from './xml.ts';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  isArray: (name) => name === 'entry' || name === 'item',
});

/** Parses the document back, after checking it is well-formed. */
function parse(xml: string): Record<string, unknown> {
  assert.equal(XMLValidator.validate(xml), true, xml);
  return parser.parse(xml) as Record<string, unknown>;
}

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>';

test('objects become elements, arrays become <item> children, scalars text', () => {
  const xml = toXml({ id: 1, ok: true, tags: ['a', 'b'], nested: { grid: [1, [2, 3]] } }, 'product');
  assert.equal(
    xml,
    `${HEAD}<product><id>1</id><ok>true</ok><tags><item>a</item><item>b</item></tags>` +
      '<nested><grid><item>1</item><item><item>2</item><item>3</item></item></grid></nested></product>',
  );
});

test('a top-level array, scalar or null fits in the root', () => {
  assert.equal(toXml([1, { a: 2 }], 'r'), `${HEAD}<r><item>1</item><item><a>2</a></item></r>`);
  assert.equal(toXml('hi', 'r'), `${HEAD}<r>hi</r>`);
  assert.equal(toXml(7, 'r'), `${HEAD}<r>7</r>`);
  assert.equal(toXml(null, 'r'), `${HEAD}<r/>`);
});

test('a namespace goes on the root as xmlns', () => {
  assert.equal(
    toXml({ a: 1 }, 'problem', 'urn:ietf:rfc:7807'),
    `${HEAD}<problem xmlns="urn:ietf:rfc:7807"><a>1</a></problem>`,
  );
});

test('keys that are not XML names become <entry key="…"> with the key intact', () => {
  const keys = ['1st', 'a b', '', '-x', '.x', 'ns:el', 'xmlThing', 'XML', '?xml', '!--', 'é'];
  const value = Object.fromEntries(keys.map((k, i) => [k, `v${i}`]));
  const doc = parse(toXml(value, 'r'));
  const entries = (doc.r as { entry: { '@_key': string; '#text': string }[] }).entry;
  assert.deepEqual(
    entries.map((e) => [e['@_key'], e['#text']]),
    keys.map((k, i) => [k, `v${i}`]),
  );
});

test('keys cannot inject attributes, text nodes or markup', () => {
  const value = {
    '@_admin': 'true',
    '#text': 'smuggled',
    xmlns: 'urn:evil',
    '<b>x</b>': 1,
    'a"><evil x="': 2,
    "k' onload='": 3,
    '@_key': 'forged key',
  };
  const xml = toXml(value, 'r');
  assert.doesNotMatch(xml, /<r [^>]/, 'root element has no attributes');
  assert.doesNotMatch(xml, /<(?:b|evil)\b/);
  const doc = parse(xml);
  const r = doc.r as Record<string, unknown> & { entry: { '@_key': string; '#text': string }[] };
  assert.deepEqual(Object.keys(r), ['entry']);
  assert.deepEqual(
    r.entry.map((e) => [e['@_key'], e['#text']]),
    Object.entries(value).map(([k, v]) => [k, String(v)]),
  );
  // Each entry has exactly one attribute: the key.
  for (const e of r.entry) assert.deepEqual(Object.keys(e).sort(), ['#text', '@_key']);
});

test('values are escaped: markup, CDATA ends, entities and quotes stay text', () => {
  const evil = [
    '</r><admin>true</admin><r>',
    ']]><x/>',
    '&amp; &lt; &#x3C;',
    '<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
    `"'`,
  ];
  const xml = toXml({ v: evil, nested: { deep: evil[0] } }, 'r');
  assert.doesNotMatch(xml, /<admin>|<x\/>|<!DOCTYPE|<!ENTITY/);
  const doc = parse(xml);
  const r = doc.r as { v: { item: string[] }[] | { item: string[] }; nested: { deep: string } };
  assert.deepEqual(Object.keys(r), ['v', 'nested']);
  const items = (Array.isArray(r.v) ? r.v[0]! : r.v).item;
  assert.deepEqual(items, evil);
  assert.equal(r.nested.deep, evil[0]);
});

test('values in entries with non-name keys are escaped too, objects nest inside them', () => {
  const xml = toXml({ 'a b': '</entry><x>', '2': { inner: [1] } }, 'r');
  assert.doesNotMatch(xml, /<x>/);
  const doc = parse(xml);
  const entries = (doc.r as { entry: Record<string, unknown>[] }).entry;
  const byKey = Object.fromEntries(entries.map((e) => [e['@_key'], e]));
  assert.equal(byKey['a b']!['#text'], '</entry><x>');
  assert.deepEqual(byKey['2']!.inner, { item: ['1'] });
});

test('a member named "entry" is kept next to the entries of non-name keys', () => {
  const doc = parse(toXml({ entry: 'mine', '1st': 'one' }, 'r'));
  const entries = (doc.r as { entry: unknown[] }).entry;
  assert.equal(entries.length, 2);
  assert.equal(entries[0], 'mine');
  assert.deepEqual(entries[1], { '#text': 'one', '@_key': '1st' });
});

test('characters XML 1.0 cannot carry (C0 controls, U+FFFE, lone surrogates) become U+FFFD', () => {
  const xml = toXml(
    { v: 'a\u0000b\u0001c\u0008d\u001fe\ufffef\ud800g', 'k\u0007': 'x', ok: 'tab\tnl\ncr\r😀' },
    'r',
  );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
  assert.doesNotMatch(xml, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/);
  assert.equal(XMLValidator.validate(xml), true);
  assert.match(xml, /<v>a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\uFFFDg<\/v>/);
  assert.match(xml, /<entry key="k\uFFFD">x<\/entry>/);
  assert.match(xml, /<ok>tab\tnl\ncr\r😀<\/ok>/);
});
