/**
 * The results chart, written by hand: a few bars are a few <rect> and <text> elements, which needs
 * no chart library (nor a browser to render one) and diffs readably in git.
 */

export interface Bar {
  label: string;
  /** Bar length; null draws no bar, only `note` (a skipped or failed peer). */
  value: number | null;
  note: string;
  highlight?: boolean;
}

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A horizontal bar chart: one row per bar, the value and note printed after the bar. */
export function barChart(title: string, subtitle: string, bars: Bar[]): string {
  const [labelW, barW, noteW, rowH, top] = [170, 400, 260, 34, 64];
  const width = labelW + barW + noteW;
  const height = top + bars.length * rowH + 16;
  const max = Math.max(1, ...bars.map((b) => b.value ?? 0));
  const rows = bars.map((b, i) => {
    const y = top + i * rowH;
    const w = b.value === null ? 0 : Math.max(1, Math.round((b.value / max) * barW));
    const fill = b.highlight ? '#2563eb' : '#9ca3af';
    const bar =
      w > 0 ? `<rect x="${labelW}" y="${y}" width="${w}" height="${rowH - 10}" fill="${fill}"/>` : '';
    return [
      `  <text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${xml(b.label)}</text>`,
      `  ${bar}`,
      `  <text x="${labelW + w + 8}" y="${y + 17}" fill="#374151">${xml(b.note)}</text>`,
    ].join('\n');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="#ffffff"/>
  <text x="12" y="24" font-size="16" font-weight="bold">${xml(title)}</text>
  <text x="12" y="44" fill="#6b7280">${xml(subtitle)}</text>
${rows.join('\n')}
</svg>
`;
}
