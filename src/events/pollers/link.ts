/**
 * The next page of a list, from `Link: <…>; rel="next"` (RFC 8288 §3, as GitHub, GitLab and
 * Shopify page their APIs). Parsing is http-link-header's: it splits several links and several
 * relation types in one `rel` (§3.3), compares relation types case-insensitively, and unquotes
 * parameters. A link with an `anchor` speaks about another resource (§3.2) and is ignored.
 */
import LinkHeader from 'http-link-header';
import { JunctionError } from '../../core/errors.ts';
import { PollResponseInvalid } from './errors.ts';

/**
 * The URL of the next page, resolved against the URL that was requested (§3.1: a relative
 * reference resolves against the link's context, never a base URI in the body); undefined when the
 * response has no next link.
 * @example
 * nextPageUrl('</items?page=3>; rel="next", </items?page=9>; rel="last"', 'https://api.test/items?page=2');
 * // 'https://api.test/items?page=3'
 */
export function nextPageUrl(header: string | string[] | undefined, requested: string): string | undefined {
  if (header === undefined) return undefined;
  // Several Link fields are one list (RFC 9110 §5.3).
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (value.trim() === '') return undefined;
  let links: LinkHeader;
  try {
    links = LinkHeader.parse(value);
  } catch (err) {
    throw new JunctionError(PollResponseInvalid, `Link header: ${(err as Error).message}`);
  }
  const next = links.rel('next').find((ref) => ref.anchor === undefined);
  return next === undefined ? undefined : new URL(next.uri, requested).href;
}
