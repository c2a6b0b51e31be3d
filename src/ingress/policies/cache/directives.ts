/**
 * `Cache-Control` parsing (RFC 9111 §5.2). Directive names are case-insensitive tokens; arguments
 * are tokens or quoted strings, and a quoted string may hold commas (`no-cache="a, b"`), so the
 * field is scanned rather than split.
 */

export type Directives = ReadonlyMap<string, string | true>;

const EMPTY: Directives = new Map();

/**
 * The directives of one or more `Cache-Control` field lines. When a directive repeats, the first
 * occurrence wins (RFC 9111 §4.2.1 lets a cache use the first, or treat the response as stale).
 *
 * @example
 * parseCacheControl('max-age=60, s-maxage="120", no-cache="set-cookie"').get('s-maxage') // '120'
 */
export function parseCacheControl(value: string | string[] | undefined): Directives {
  if (value === undefined) return EMPTY;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text === '') return EMPTY;
  const out = new Map<string, string | true>();
  let i = 0;
  while (i < text.length) {
    while (i < text.length && (text[i] === ',' || text[i] === ' ' || text[i] === '\t')) i++;
    let j = i;
    while (j < text.length && text[j] !== '=' && text[j] !== ',') j++;
    const name = text.slice(i, j).trim().toLowerCase();
    let arg: string | true = true;
    if (text[j] === '=') {
      j++;
      while (text[j] === ' ' || text[j] === '\t') j++;
      if (text[j] === '"') {
        let s = '';
        j++;
        while (j < text.length && text[j] !== '"') {
          if (text[j] === '\\' && j + 1 < text.length) j++; // quoted-pair (RFC 9110 §5.6.4)
          s += text[j];
          j++;
        }
        arg = s;
        while (j < text.length && text[j] !== ',') j++;
      } else {
        const end = text.indexOf(',', j);
        arg = text.slice(j, end === -1 ? text.length : end).trim();
        j = end === -1 ? text.length : end;
      }
    }
    if (name !== '' && !out.has(name)) out.set(name, arg);
    i = j + 1;
  }
  return out;
}

/** RFC 9111 §1.2.2: delta-seconds beyond 2^31 are taken as 2^31. */
const MAX_DELTA = 2_147_483_648;

/**
 * A delta-seconds argument (`max-age=60`), or undefined when the directive is absent. A malformed
 * one (`max-age=soon`, bare `max-age`) reads as 0, which makes the response stale: RFC 9111 §4.2.1
 * prefers treating a confusing freshness as stale over guessing.
 */
export function deltaSeconds(d: Directives, name: string): number | undefined {
  const v = d.get(name);
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) return 0;
  return Math.min(Number(v), MAX_DELTA);
}

/** Field names in a `Vary` value, lowercased and sorted; `['*']` when it varies on everything. */
export function varyNames(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  const names = new Set<string>();
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return ['*'];
    if (name !== '') names.add(name);
  }
  return [...names].sort();
}
