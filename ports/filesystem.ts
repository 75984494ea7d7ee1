// The files a node keeps: community folders (`data`, `index`) and `.torrent` files.
// Synchronous on purpose: the archive code is CPU-bound and deterministic, and both the
// in-memory (simulated) and node:fs implementations can honour these calls synchronously.
//
// Crash contract: `writeAtomic` either leaves the old content or the new one, never a mix;
// `append` of one buffer is all-or-nothing; nothing else is promised.

export interface FileSystem {
  exists(path: string): boolean;
  /** Size in bytes; throws FileNotFound when absent. */
  size(path: string): number;
  /** Whole file; throws FileNotFound when absent. */
  read(path: string): Uint8Array;
  /** `length` bytes at `offset`; throws a RangeError naming the file when the file is shorter. */
  readRange(path: string, offset: number, length: number): Uint8Array;
  /** Replace the whole file at once (write to a temporary name, then rename). */
  writeAtomic(path: string, bytes: Uint8Array): void;
  /** Append bytes, creating the file when absent. */
  append(path: string, bytes: Uint8Array): void;
  mkdirp(path: string): void;
  /** Names directly inside a folder, sorted; [] when absent. */
  list(path: string): string[];
  remove(path: string): void;
}

export class FileNotFound extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`${path}: no such file`);
    this.name = 'FileNotFound';
    this.path = path;
  }
}
