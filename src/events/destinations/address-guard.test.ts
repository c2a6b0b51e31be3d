import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guardedLookup, isForbiddenAddress } from './address-guard.ts';

test('loopback, private, link-local, shared, reserved and embedded-IPv4 addresses are forbidden', () => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254', // cloud metadata
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
  ]) {
    assert.equal(isForbiddenAddress(address), true, address);
  }
});

test('public addresses and host names are not forbidden by themselves', () => {
  for (const address of [
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '::ffff:8.8.8.8',
    '2606:4700:4700::1111',
    'example.com',
  ]) {
    assert.equal(isForbiddenAddress(address), false, address);
  }
});

test('a name that resolves only to loopback fails the lookup with the guard code', async () => {
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
    guardedLookup('localhost', {}, (e) => resolve(e)),
  );
  assert.equal(err?.code, 'JUNCTION_ADDRESS_FORBIDDEN');
  assert.match(err?.message ?? '', /^localhost \((127\.0\.0\.1|::1)\) is a private/);
});
