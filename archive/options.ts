// Parameters of the archive format (protocol.md §2), with the reference values as defaults.

export interface ArchiveOptions {
  /** Partition length in seconds (default 604800, 7 days). */
  interval: number;
  /** Torrent piece length in bytes (default 102400). */
  pieceLength: number;
  /** Most payload+sig bytes in one archive (default 30,000,000); a larger single message is dropped. */
  maxArchiveBytes: number;
  /** The reference's padding quirk: an exact multiple of P larger than P gets one more piece of zeros. */
  extraPaddingPiece: boolean;
}

export const defaultArchiveOptions: Readonly<ArchiveOptions> = Object.freeze({
  interval: 604_800,
  pieceLength: 102_400,
  maxArchiveBytes: 30_000_000,
  extraPaddingPiece: true,
});

/** What callers may pass: any subset, with the machines' option names accepted as aliases. */
export type ArchiveOptionsInput = Partial<ArchiveOptions> & {
  /** Alias of `interval` (seconds). */
  archiveInterval?: number;
  /** Alias of `maxArchiveBytes`. */
  maxArchiveChunk?: number;
};

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Defaults filled in (undefined values ignored), aliases folded, values checked. */
export function resolveArchiveOptions(input: ArchiveOptionsInput = {}): ArchiveOptions {
  const pick = <T>(...values: (T | undefined)[]): T | undefined => values.find((v) => v !== undefined);
  const o: ArchiveOptions = {
    interval: pick(input.interval, input.archiveInterval) ?? defaultArchiveOptions.interval,
    pieceLength: pick(input.pieceLength) ?? defaultArchiveOptions.pieceLength,
    maxArchiveBytes:
      pick(input.maxArchiveBytes, input.maxArchiveChunk) ?? defaultArchiveOptions.maxArchiveBytes,
    extraPaddingPiece: pick(input.extraPaddingPiece) ?? defaultArchiveOptions.extraPaddingPiece,
  };
  positiveInteger('interval', o.interval);
  positiveInteger('pieceLength', o.pieceLength);
  positiveInteger('maxArchiveBytes', o.maxArchiveBytes);
  return o;
}
