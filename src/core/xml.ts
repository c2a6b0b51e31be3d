/**
 * JSON → XML for content negotiation (Q29) and RFC 9457 Appendix B problem documents, built with
 * fast-xml-parser's XMLBuilder, which escapes text. Keys that are not XML names (`1st`, `a b`,
 * `@x`) become `<entry key="…">` elements so that no input can inject markup or attributes.
 */
import { XMLBuilder } from 'fast-xml-parser';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
  processEntities: true,
});

// XML 1.0 Name production, ASCII subset; `xml…` names are reserved (XML 1.0 §2.3).
const XML_NAME = /^(?!xml)[A-Za-z_][A-Za-z0-9_.-]*$/i;

// XML 1.0 §2.2 `Char`: no C0 controls besides tab, LF and CR, no lone surrogates, no U+FFFE/U+FFFF.
// JSON strings may hold any of them (`"\u0001"`); escaping does not help, so they become U+FFFD.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function xmlText(s: string): string {
  return s.replace(NOT_XML_CHAR, '\uFFFD');
}

type XmlNode = string | number | boolean | null | XmlNode[] | { [k: string]: XmlNode };

function toNode(value: unknown): XmlNode {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return { item: value.map(toNode) };
  if (typeof value === 'object') {
    const out: Record<string, XmlNode> = {};
    const entries: XmlNode[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const node = toNode(v);
      if (XML_NAME.test(k)) {
        out[k] = Array.isArray(v) ? (node as { item: XmlNode[] }) : node;
      } else {
        const key = xmlText(k);
        entries.push(
          typeof node === 'object' && node !== null
            ? { ...node, '@_key': key }
            : { '#text': node, '@_key': key },
        );
      }
    }
    // A member that is itself named `entry` stays, as the first of the `<entry>` elements.
    if (entries.length > 0) out.entry = 'entry' in out ? [out.entry!, ...entries] : entries;
    return out;
  }
  if (typeof value === 'string') return xmlText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return xmlText(String(value));
}

/**
 * @example
 * toXml({ id: 1, tags: ['a'] }, 'product') // '<?xml …?><product><id>1</id><tags><item>a</item></tags></product>'
 */
export function toXml(value: unknown, root: string, namespace?: string): string {
  const body = toNode(value);
  const rootNode =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? { ...body }
      : body === null
        ? {}
        : { '#text': body as XmlNode };
  if (namespace) (rootNode as Record<string, XmlNode>)['@_xmlns'] = namespace;
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build({ [root]: rootNode })}`;
}
