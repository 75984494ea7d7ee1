// The bencode check in front of the `bencode` package's decoder (archive/bencode.ts): it
// refuses what the decoder loops or overruns on, and changes nothing for what it decodes.
import { fc, test } from '@fast-check/vitest';
import bencode from 'bencode';
import { describe, expect, it } from 'vitest';
import { BencodeError, checkBencode, decodeBencode, guardBencode } from '../archive/bencode.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

type BValue = number | Uint8Array | BValue[] | { [k: string]: BValue };
const { value: bvalue } = fc.letrec<{ value: BValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 5 }),
  ),
}));

describe('checkBencode', () => {
  it('refuses the input that froze a seeder, at once', () => {
    expect(() => checkBencode(bytes('d-900719907199293:'))).toThrow(BencodeError);
    expect(() => bencode.decode(bytes('d-900719907199293:'))).toThrow(/expected a string length/);
  });

  it.each([
    ['4:abc', /runs past the end/],
    ['i-e', /expected digits/],
    ['i12', /expected "e"/],
    ['d1:ae', /key without a value/],
    ['di1ei2ee', /string length/],
    ['l', /unterminated/],
    ['x', /unexpected byte 0x78/],
    ['1234567890123456:', /too large/],
    ['l'.repeat(101) + 'e'.repeat(101), /nesting deeper than 100/],
  ])('refuses %s', (input, message) => {
    expect(() => checkBencode(bytes(input))).toThrow(message);
  });

  it('returns the end of the first value and leaves trailing bytes alone', () => {
    expect(checkBencode(bytes('d1:ai1ee<trailer>'))).toBe(8);
    expect(checkBencode(bytes('xx3:abc'), 2)).toBe(7);
  });

  test.prop([bvalue])(
    'accepts every encoded value, and the guarded decoder returns what the package decodes',
    (v) => {
      const encoded: Uint8Array = bencode.encode(v);
      expect(checkBencode(encoded)).toBe(encoded.length);
      expect(decodeBencode(encoded)).toEqual(bencode.decode(encoded));
    },
  );

  test.prop([fc.uint8Array({ maxLength: 64 })], { numRuns: 5000 })(
    'ends on any bytes with a value or a BencodeError',
    (input) => {
      try {
        decodeBencode(input);
      } catch (e) {
        expect(e).toBeInstanceOf(BencodeError);
      }
    },
  );

  it('guards a module once, keeping its decoder for good input', () => {
    const calls: unknown[] = [];
    const mod = { decode: (data: unknown) => calls.push(data) };
    guardBencode(guardBencode(mod));
    mod.decode(bytes('le'));
    expect(calls).toHaveLength(1);
    expect(() => mod.decode(bytes('4:abc'))).toThrow(BencodeError);
    expect(calls).toHaveLength(1);
  });
});
