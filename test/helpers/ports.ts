/**
 * Ports a test listens on again later, or hands to a child process to bind: claimed below the
 * kernel's ephemeral range, so no listen(0) or outgoing connection of a test file running alongside
 * can be given one in the meantime.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where claimPort() picks: the 10 000 ports below the kernel's ephemeral range (Linux's
 * ip_local_port_range, 32768 by default), which listen(0) and outgoing connections never take.
 */
const CLAIMABLE = (() => {
  let low = 32_768;
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    if (Number.isInteger(first) && first >= 12_000) low = Math.min(first, low);
  } catch {
    // Not Linux: the other systems' ephemeral ranges start at 49152, above the default.
  }
  return { from: low - 10_000, to: low };
})();

/** This process's port claims (lock files), removed when it exits. */
const claims: string[] = [];
process.once('exit', () => {
  for (const file of claims) rmSync(file, { force: true });
});

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    // No host: the wildcard address overlaps every address a child could bind the port on.
    s.listen(port, () => s.close(() => resolve(true)));
  });
}

/**
 * A port for a child process (the demo) to listen on, or for a server that stops and listens again
 * (tcp-proxy.ts). A port found with listen(0) and closed again is free only for a moment: until it
 * is bound again, seconds later, any listen(0) of the test file running alongside (or any outgoing
 * connection) may be given it, and the bind then fails with EADDRINUSE. A claimed port comes from below the ephemeral range, where the kernel hands out
 * nothing by itself, and holds an exclusive lock file so no other test process claims it too; the
 * claim lasts until this process exits.
 */
export async function claimPort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    assert.ok(tries < 1_000, `no port to claim in ${CLAIMABLE.from}..${CLAIMABLE.to}`);
    const port = randomInt(CLAIMABLE.from, CLAIMABLE.to);
    const lock = join(tmpdir(), `junction-test-port-${port}.lock`);
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
    } catch (err) {
      // Claimed by another test process (or left by one that was killed): pick another.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    if (await canListen(port)) {
      claims.push(lock);
      return port;
    }
    unlinkSync(lock); // something outside the tests listens there
  }
}
