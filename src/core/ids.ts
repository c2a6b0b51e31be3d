/**
 * Snowflake ids (Q35): 1 unused bit | 41 bits of milliseconds since JUNCTION_EPOCH | 10 bits of node
 * id | 12 bits of sequence. Sortable by time, unique without coordination as long as no two live
 * nodes share a node id (the store leases node ids, see src/store/nodes.ts).
 *
 * Written here rather than taken from npm: the packages we found either use BigInt on every call or
 * wait (block) when the clock steps back. Ours keeps a logical clock instead: if the wall clock goes
 * backwards (NTP step, VM migration), it keeps issuing from the last timestamp it used, and when that
 * millisecond's 4096 sequence numbers are spent it moves its logical clock one millisecond ahead.
 * Ids stay unique and increasing; they run slightly ahead of the wall clock until it catches up.
 *
 * The text form is `<prefix>_<13 Crockford base32 chars>`, fixed width so that string order equals
 * numeric order (STYLE.md §12: type-prefixed ids).
 */

/** 2026-01-01T00:00:00Z. 41 bits of milliseconds last until 2095. */
export const JUNCTION_EPOCH = 1_767_225_600_000;
const NODE_BITS = 10;
const SEQUENCE_BITS = 12;
export const MAX_NODE_ID = (1 << NODE_BITS) - 1;
const MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1;
const LOW_BITS = NODE_BITS + SEQUENCE_BITS; // 22: fits a double exactly together with 41 bits of time
const LOW_RANGE = 2 ** LOW_BITS;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford: no I, L, O, U
const DECODE = new Map([...ALPHABET].map((c, i) => [c, i]));

export interface SnowflakeParts {
  timestampMs: number;
  nodeId: number;
  sequence: number;
}

export interface SnowflakeOptions {
  nodeId: number;
  /** Wall clock in epoch milliseconds; injectable for tests. */
  now?: () => number;
}

export class Snowflake {
  readonly nodeId: number;
  readonly #now: () => number;
  #lastMs = -1;
  #sequence = 0;
  /** How often the generator kept its logical clock because the wall clock went back. */
  clockBackwardsEvents = 0;

  constructor(options: SnowflakeOptions) {
    if (!Number.isInteger(options.nodeId) || options.nodeId < 0 || options.nodeId > MAX_NODE_ID) {
      throw new RangeError(`node id must be an integer in 0..${MAX_NODE_ID}, got ${options.nodeId}`);
    }
    this.nodeId = options.nodeId;
    this.#now = options.now ?? Date.now;
  }

  /** The next id's parts; the logical clock never goes backwards. */
  nextParts(): SnowflakeParts {
    let ms = this.#now() - JUNCTION_EPOCH;
    if (ms < this.#lastMs) {
      this.clockBackwardsEvents++;
      ms = this.#lastMs;
    }
    if (ms === this.#lastMs) {
      if (this.#sequence === MAX_SEQUENCE) {
        // Spent this millisecond: borrow the next one rather than block the event loop.
        ms++;
        this.#sequence = 0;
      } else {
        this.#sequence++;
      }
    } else {
      this.#sequence = 0;
    }
    this.#lastMs = ms;
    return { timestampMs: ms + JUNCTION_EPOCH, nodeId: this.nodeId, sequence: this.#sequence };
  }

  /** The next id as a 64-bit integer. */
  nextBigInt(): bigint {
    const p = this.nextParts();
    return (BigInt(p.timestampMs - JUNCTION_EPOCH) << BigInt(LOW_BITS)) | BigInt(low(p));
  }

  /**
   * The next id as `<prefix>_<base32>`.
   * @example ids.next('req') // 'req_0C8ZK3M4N5P6Q'
   */
  next(prefix: string): string {
    const p = this.nextParts();
    const ms = p.timestampMs - JUNCTION_EPOCH;
    const lowBits = low(p);
    // The first 9 characters depend only on the millisecond and the node id (the top 2 low bits):
    // compute them once per millisecond, then only the 4 sequence characters per id.
    if (ms !== this.#headMs) {
      this.#headMs = ms;
      this.#head = encode(ms, lowBits).slice(0, 9);
    }
    let l = lowBits;
    let tail = '';
    for (let i = 0; i < 4; i++) {
      tail = ALPHABET[l & 31] + tail;
      l >>>= 5;
    }
    return `${prefix}_${this.#head}${tail}`;
  }

  #headMs = -1;
  #head = '';
}

function low(p: SnowflakeParts): number {
  return p.nodeId * 2 ** SEQUENCE_BITS + p.sequence;
}

/**
 * 13 base32 characters carry 65 bits: the top 3 are zero (the unused sign bit and two of padding).
 * Arithmetic stays in doubles: the 41-bit time and the 22-bit low part are each exact.
 */
function encode(timeMs: number, lowBits: number): string {
  let out = '';
  // Low 22 bits give 4 full characters (20 bits) and 2 bits that share a character with time.
  let l = lowBits;
  for (let i = 0; i < 4; i++) {
    out = ALPHABET[l & 31] + out;
    l >>>= 5;
  }
  // Character 5 holds the top 2 low bits and the bottom 3 time bits.
  let t = timeMs;
  out = ALPHABET[(l & 3) | ((t % 8) << 2)] + out;
  t = Math.floor(t / 8);
  // Remaining 38 bits of time: 8 characters (40 bits, top ones zero).
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

/** Splits an id (with or without prefix) back into its parts; throws on anything that is not one. */
export function parseId(id: string): SnowflakeParts & { prefix: string | undefined } {
  const sep = id.lastIndexOf('_');
  const prefix = sep === -1 ? undefined : id.slice(0, sep);
  const body = sep === -1 ? id : id.slice(sep + 1);
  if (body.length !== 13) throw new TypeError(`not a Junction id: ${id}`);
  let value = 0n;
  for (const c of body) {
    const v = DECODE.get(c);
    if (v === undefined) throw new TypeError(`not a Junction id: ${id}`);
    value = (value << 5n) | BigInt(v);
  }
  if (value >> 63n !== 0n) throw new TypeError(`not a Junction id: ${id}`);
  const lowPart = Number(value & BigInt(LOW_RANGE - 1));
  return {
    prefix,
    timestampMs: Number(value >> BigInt(LOW_BITS)) + JUNCTION_EPOCH,
    nodeId: lowPart >>> SEQUENCE_BITS,
    sequence: lowPart & MAX_SEQUENCE,
  };
}

/** The same id in its 64-bit integer form, e.g. for a BIGINT column. */
export function idToBigInt(id: string): bigint {
  const p = parseId(id);
  return (BigInt(p.timestampMs - JUNCTION_EPOCH) << BigInt(LOW_BITS)) | BigInt(low(p));
}
