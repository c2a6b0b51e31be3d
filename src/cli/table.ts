/**
 * Plain-text tables of the CLI's list commands (`junction keys list`, `dlq list`, `webhooks dead`):
 * columns padded to their widest cell, two spaces apart, no trailing blanks.
 */

/** Writes `rows` (the first one the header) through `out`, one line per row. */
export function printTable(rows: readonly (readonly string[])[], out: (text: string) => void): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) {
    out(
      `${r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
}

/** `text` cut to `n` characters, the last one an ellipsis when cut. */
export const clip = (text: string, n: number) => (text.length <= n ? text : `${text.slice(0, n - 1)}…`);
