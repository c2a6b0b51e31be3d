/**
 * The progress bar of long store commands (`junction dlq replay --all`, `junction webhooks recover`),
 * drawn on stderr so stdout keeps only the result: `recovering [#####-----] 1,500/3,000` redrawn in
 * place with `\r` on a terminal, one line per step elsewhere (a log file or CI keeps every line).
 */
import type { StoreIo } from './store-session.ts';

const WIDTH = 30;
const count = (n: number) => n.toLocaleString('en-US');

/**
 * A drawing function for `done` out of `total`; nothing is drawn when `total` is 0.
 * @example
 * const bar = progressBar(io, 'replaying', ids.length);
 * bar(500); // replaying [###############---------------] 500/1,000
 */
export function progressBar(io: StoreIo, label: string, total: number): (done: number) => void {
  if (total === 0) return () => {};
  return (done) => {
    const filled = Math.min(WIDTH, Math.round((done / total) * WIDTH));
    const text = `${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${count(done)}/${count(total)}`;
    if (io.errIsTty) io.err(`\r${text}${done >= total ? '\n' : ''}`);
    else io.err(`${text}\n`);
  };
}
