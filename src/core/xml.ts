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
        entries.push(
          typeof node === 'object' && node !== null ? { ...node, '@_key': k } : { '#text': node, '@_key': k },
        );
      }
    }
    if (entries.length > 0) out.entry = entries;
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
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
      : { '#text': body as XmlNode };
  if (namespace) (rootNode as Record<string, XmlNode>)['@_xmlns'] = namespace;
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build({ [root]: rootNode })}`;
}
