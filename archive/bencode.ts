// Bencode from the `bencode` package, behind a strict check of its input.
//
// `bencode` 4.0.1 trusts the lengths it reads: a string of negative length
// (`d-900719907199293:`) moves its cursor backwards and `decode` never returns. The peer
// wire (BEP 10 extended handshake, BEP 9 metadata) calls that decoder on bytes any peer
// sends, so one message froze a seeder. `checkBencode` walks the
// grammar once, in linear time, with a bounded depth, and throws a BencodeError for anything
// the decoder could loop or overrun on; `guardBencode` puts that check in front of a bencode
// module's own `decode`, so every caller of that module is covered, ours and the peer wire's.

import bencode from 'bencode';

export class BencodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BencodeError';
  }
}

/** Deepest nesting of lists and dictionaries accepted (libtorrent's limit is 100 too). */
export const MAX_BENCODE_DEPTH = 100;

const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MINUS = 0x2d;
const INT = 0x69; // i
const LIST = 0x6c; // l
const DICT = 0x64; // d
const END = 0x65; // e

const Frame = { List: 0, DictKey: 1, DictValue: 2 } as const;
type Frame = (typeof Frame)[keyof typeof Frame];

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= DIGIT_0 && b <= DIGIT_9;

/**
 * Checks that `bytes[start..]` begins with one well-formed bencoded value and returns the
 * offset just past it (trailing bytes are the caller's business, as `decode` ignores them).
 * Throws BencodeError naming the offset and what is wrong.
 */
export function checkBencode(bytes: Uint8Array, start = 0, maxDepth = MAX_BENCODE_DEPTH): number {
  let pos = start;
  // Open containers, innermost last: a list, a dictionary expecting a key, or one expecting
  // the value of the key just read.
  const open: Frame[] = [];
  const fail = (what: string): never => {
    throw new BencodeError(`bencode: ${what} at byte ${pos}`);
  };
  const byteString = (): void => {
    const lengthStart = pos;
    while (isDigit(bytes[pos])) pos++;
    if (pos === lengthStart) fail('expected a string length (digits)');
    if (bytes[pos] !== COLON) fail('expected ":" after a string length');
    if (pos - lengthStart > 15) fail('string length too large');
    let length = 0;
    for (let i = lengthStart; i < pos; i++) length = length * 10 + ((bytes[i] as number) - DIGIT_0);
    pos++;
    if (length > bytes.length - pos) fail(`string of ${length} bytes runs past the end`);
    pos += length;
  };
  const integer = (): void => {
    pos++;
    if (bytes[pos] === MINUS) pos++;
    const digits = pos;
    while (isDigit(bytes[pos])) pos++;
    if (pos === digits) fail('expected digits in an integer');
    if (bytes[pos] !== END) fail('expected "e" to end an integer');
    pos++;
  };
  for (;;) {
    const frame = open[open.length - 1];
    const b = bytes[pos];
    if (b === undefined) return fail(frame === undefined ? 'no value' : 'unterminated list or dictionary');
    if (frame !== undefined && b === END) {
      if (frame === Frame.DictValue) fail('dictionary key without a value');
      open.pop();
      pos++;
    } else if (frame === Frame.DictKey) {
      byteString();
      open[open.length - 1] = Frame.DictValue;
      continue;
    } else if (b === LIST || b === DICT) {
      if (open.length >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      if (frame === Frame.DictValue) open[open.length - 1] = Frame.DictKey;
      open.push(b === DICT ? Frame.DictKey : Frame.List);
      pos++;
      continue;
    } else if (b === INT || isDigit(b)) {
      if (b === INT) integer();
      else byteString();
      if (frame === Frame.DictValue) open[open.length - 1] = Frame.DictKey;
    } else {
      fail(`unexpected byte 0x${b.toString(16).padStart(2, '0')}`);
    }
    if (open.length === 0) return pos;
  }
}

/** Decodes one bencoded value after checking it (throws BencodeError on bad input). */
export function decodeBencode(bytes: Uint8Array): unknown {
  checkBencode(bytes);
  return bencode.decode(bytes);
}

export const encodeBencode = (value: unknown): Uint8Array => bencode.encode(value);

/** A bencode module as the package exports it (its default export object). */
export interface BencodeModule {
  decode: (data: unknown, start?: unknown, end?: unknown, encoding?: unknown) => unknown;
}

const GUARDED = Symbol.for('archivist.bencodeGuarded');
const textEncoder = new TextEncoder();

/**
 * Puts `checkBencode` in front of `mod.decode`, keeping its signature and its result for
 * every input it decodes correctly. Idempotent. Returns the module.
 */
export function guardBencode<M extends BencodeModule>(mod: M): M {
  const tagged = mod as M & { [GUARDED]?: true };
  if (tagged[GUARDED]) return mod;
  const original = mod.decode;
  const guarded = function decode(
    data: unknown,
    start?: unknown,
    end?: unknown,
    encoding?: unknown,
  ): unknown {
    if (data !== null && data !== undefined && (data as { length?: number }).length !== 0) {
      // The same view of the input the package's decoder takes.
      const bytes = ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).subarray(
            typeof start === 'number' ? start : 0,
            typeof end === 'number' ? end : undefined,
          )
        : textEncoder.encode(String(data));
      checkBencode(bytes);
    }
    return original.call(mod, data, start, end, encoding);
  };
  // The package reads `decode.position` / `decode.bytes` after a call; keep them reachable.
  for (const key of Object.keys(original)) {
    Object.defineProperty(guarded, key, {
      get: () => (original as unknown as Record<string, unknown>)[key],
      set: (v) => {
        (original as unknown as Record<string, unknown>)[key] = v;
      },
    });
  }
  mod.decode = guarded;
  tagged[GUARDED] = true;
  return mod;
}

// Every decode in this process that goes through the package's shared instance is checked.
guardBencode(bencode as unknown as BencodeModule);
