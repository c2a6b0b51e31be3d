/**
 * Subject alternative names (RFC 5280 §4.2.1.6) as Node reports them in `subjectaltname`:
 * `DNS:a.example, URI:spiffe://td/x, IP Address:10.0.0.1, email:ops@example`. Since Node's fix for
 * CVE-2021-44532 a value holding a delimiter is written as a JSON string (`DNS:"a\u002cb"`), so the
 * text is read token by token rather than split on commas, and no crafted name can smuggle in a
 * second, fake entry.
 */
export interface SubjectAltNames {
  dns: string[];
  uri: string[];
  ip: string[];
  email: string[];
  /** Every name in certificate order, of the four kinds above. */
  all: string[];
}

const KINDS: Record<string, keyof Omit<SubjectAltNames, 'all'>> = {
  DNS: 'dns',
  URI: 'uri',
  'IP Address': 'ip',
  email: 'email',
};

/**
 * @example
 * parseSubjectAltName('DNS:api.internal, URI:spiffe://acme.test/ns/billing')
 * // { dns: ['api.internal'], uri: ['spiffe://acme.test/ns/billing'], ip: [], email: [], all: [...] }
 */
export function parseSubjectAltName(text: string | undefined): SubjectAltNames {
  const names: SubjectAltNames = { dns: [], uri: [], ip: [], email: [], all: [] };
  if (!text) return names;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon === -1) break;
    const kind = text.slice(i, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = closingQuote(text, colon + 2);
      if (end === -1) break; // malformed: keep what was read, trust nothing after it
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        break;
      }
      end += 1;
    } else {
      end = text.indexOf(', ', colon + 1);
      if (end === -1) end = text.length;
      value = text.slice(colon + 1, end);
    }
    const key = KINDS[kind];
    if (key !== undefined) {
      names[key].push(value);
      names.all.push(value);
    }
    if (end < text.length && !text.startsWith(', ', end)) break;
    i = end + 2;
  }
  return names;
}

function closingQuote(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j;
  }
  return -1;
}
