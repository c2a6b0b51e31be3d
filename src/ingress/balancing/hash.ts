/**
 * MurmurHash3 x86_32 (Austin Appleby, public domain): a fast non-cryptographic hash with good
 * avalanche, so the ring's virtual nodes (`<id>-0`, `<id>-1`, …, keys differing in one character)
 * spread evenly. FNV-1a is shorter but mixes its high bits poorly for such keys; Envoy's ring hash
 * uses xxHash64, whose 64-bit multiplies would need BigInt here. Hand-written rather than a
 * dependency: twenty lines, checked against the reference vectors in hash.test.ts.
 */
const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** The 32-bit MurmurHash3 of the UTF-8 bytes of `key`, as an unsigned integer. */
export function murmur3(key: string, seed = 0): number {
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3);
  const bytes = scratch;
  const length = encoder.encodeInto(key, bytes).written;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, c2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[blocks + 2]! << 16;
    if (rest >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, c2);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
