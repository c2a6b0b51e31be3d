import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoTimeField, stdoutDestination } from './logger.ts';

test('the batched stdout destination can be created, flushed and closed', () => {
  const out = stdoutDestination();
  assert.doesNotThrow(() => out.flushSync());
  out.close();
});

test('the cached time field is an ISO timestamp in pino form', () => {
  const field = isoTimeField();
  const m = /^,"time":"(.+)"$/.exec(field);
  assert.ok(m);
  assert.ok(Math.abs(Date.parse(m[1]!) - Date.now()) < 5_000);
});

test('stdout gets every line whole and in order: multibyte text, a line larger than a batch, a timed flush, a line just before process.exit', async () => {
  const { spawn } = await import('node:child_process');
  const logger = new URL('./logger.ts', import.meta.url).href;
  const script = `
    import { stdoutDestination } from ${JSON.stringify(logger)};
    const out = stdoutDestination(20);
    for (let i = 0; i < 3000; i++) out.stream.write(JSON.stringify({ i, text: 'é€😀'.repeat(i % 7) }) + '\\n');
    out.stream.write(JSON.stringify({ i: 'big', text: 'x'.repeat(100000) }) + '\\n');
    out.stream.write(JSON.stringify({ i: 'last' }) + '\\n');
    setTimeout(() => {
      out.stream.write(JSON.stringify({ i: 'at-exit' }) + '\\n');
      process.exit(0); // no flush call: the exit hook writes the tail
    }, 200);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (text += c));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  const lines = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { i: number | string; text?: string });
  assert.equal(lines.length, 3003);
  lines.slice(0, 3000).forEach((l, i) => {
    assert.equal(l.i, i);
    assert.equal(l.text, 'é€😀'.repeat(i % 7));
  });
  assert.equal(lines[3000]!.text!.length, 100_000);
  assert.equal(lines[3001]!.i, 'last');
  assert.equal(lines[3002]!.i, 'at-exit');
});
