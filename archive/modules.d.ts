// Type declarations for the two untyped packages the archive format uses.

declare module 'bencode' {
  type BencodeValue = number | Uint8Array | string | BencodeValue[] | { [key: string]: BencodeValue };
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(bytes: Uint8Array, encoding?: string): unknown;
  };
  export default bencode;
  export type { BencodeValue };
}

declare module 'magnet-uri' {
  interface MagnetInput {
    xt?: string | string[];
    dn?: string;
    tr?: string | string[];
    [key: string]: unknown;
  }
  interface MagnetDecoded {
    infoHash?: string;
    name?: string | string[];
    announce?: string[];
    [key: string]: unknown;
  }
  export function encode(obj: MagnetInput): string;
  export function decode(uri: string): MagnetDecoded;
  const magnet: typeof decode;
  export default magnet;
}
