/**
 * The guarantee `core.idempotency` exists for (Q11): however many copies of one request arrive at
 * once, the upstream executes it once. 50 parallel requests with one key against a slow upstream,
 * on each store, then across two gateway nodes sharing PostgreSQL or Redis.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import type { TestGateway } from './helpers/gateway.ts';
import {
  BACKENDS,
  type Backend,
  type Reply,
  send,
  startIdempotentGateways,
  startPayments,
} from './helpers/idempotency.ts';

const BODY = JSON.stringify({ amount: 4200, currency: 'USD', customer: 'cus_ada' });
const PARALLEL = 50;

/** Fires PARALLEL copies round-robin over the nodes and checks what exactly-once means for them. */
async function stampede(nodes: TestGateway[], executions: () => number): Promise<void> {
  // Half start together, half trickle in while the first one is executing or just finished.
  const together: Promise<Reply>[] = [];
  const replies = await Promise.all(
    Array.from({ length: PARALLEL }, async (_, i) => {
      const node = nodes[i % nodes.length]!;
      if (i < PARALLEL / 2) {
        const reply = send(node, { key: 'charge-once', body: BODY });
        together.push(reply);
        return reply;
      }
      await new Promise((r) => setTimeout(r, (i - PARALLEL / 2) * 16));
      if (i < PARALLEL - 1) return send(node, { key: 'charge-once', body: BODY });
      // The last one comes once the original has answered, so at least one request is sure to come
      // after it (the trickle alone ends 400 ms in: a loaded machine can take longer to execute and
      // store the original, and then no request saw a replay). The client may have the whole answer
      // a moment before the gateway has stored it: a 409 then is sent again.
      await Promise.all(together);
      for (let tries = 0; ; tries++) {
        const reply = await send(node, { key: 'charge-once', body: BODY });
        if (reply.status !== 409 || tries === 50) return reply;
        await new Promise((r) => setTimeout(r, 20));
      }
    }),
  );
  assert.equal(executions(), 1, 'exactly one upstream execution');
  const originals = replies.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined);
  const replays = replies.filter((r) => r.headers['idempotent-replayed'] === 'true');
  const conflicts = replies.filter((r) => r.status === 409);
  assert.equal(originals.length, 1, 'one original response');
  assert.equal(originals.length + replays.length + conflicts.length, PARALLEL, statuses(replies));
  assert.ok(conflicts.length > 0, `requests during the first one were refused: ${statuses(replies)}`);
  assert.ok(replays.length > 0, `requests after it got the replay: ${statuses(replies)}`);
  for (const c of conflicts) {
    assert.equal(c.json().code, 'idempotency_key_in_use');
    assert.equal(c.headers['retry-after'], '1');
  }
  for (const r of replays) {
    assert.equal(r.status, 201);
    assert.deepEqual(r.body, originals[0]!.body);
  }
  // Afterwards every node replays the original, byte for byte; another body is refused.
  for (const node of nodes) {
    const retry = await send(node, { key: 'charge-once', body: BODY });
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(retry.body, originals[0]!.body);
    const other = await send(node, { key: 'charge-once', body: BODY.replace('4200', '4300') });
    assert.equal(other.status, 422);
  }
  assert.equal(executions(), 1);
}

function statuses(replies: Reply[]): string {
  const counts = new Map<string, number>();
  for (const r of replies) {
    const k = `${r.status}${r.headers['idempotent-replayed'] ? ' replayed' : ''}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(counts));
}

async function run(backend: Backend, t: TestContext, nodes: number) {
  const pay = await startPayments(t, { delayMs: 150 });
  const gateways = await startIdempotentGateways(t, backend, pay.up.url, { nodes });
  await stampede(gateways, pay.executions);
}

for (const backend of BACKENDS) {
  describe(`exactly once on ${backend}`, () => {
    test(`${PARALLEL} parallel requests with one key execute the upstream once`, (t) => run(backend, t, 1));

    if (backend !== 'sqlite') {
      test(`${PARALLEL} parallel requests over two gateway nodes sharing ${backend} execute once`, (t) =>
        run(backend, t, 2));
    }
  });
}
