// Invariant 1 (`data` only grows, and each round's `data` starts with the previous round's
// bytes) checked where it can break: at the writes. A node's FileSystem, seen through this
// watch, lets appends to a community's `data` through untouched (the archive writer's
// normal path) and compares a whole-file replacement of `data` with what it replaces —
// rare: the writer only does it to roll back an unindexed tail after a crash, which keeps
// a prefix. A replacement that changes a byte of the first `guarded` bytes (the data the
// monitor has checked so far) is reported with the range of pieces it touched, so no round
// ever re-reads the earlier data to find out.

import type { FileSystem } from '../ports/filesystem.ts';

export interface DataRewrite {
  path: string;
  /** First byte that differs (or the new length, when the file shrank below `guarded`). */
  at: number;
  /** Bytes of the file before the replacement. */
  before: number;
  after: number;
}

/** The `data` files of a node's community folders: `<dataDir>/<communityId>/data`. */
export function isCommunityData(dataDir: string, path: string): boolean {
  if (!path.startsWith(`${dataDir}/`) || !path.endsWith('/data')) return false;
  const inner = path.slice(dataDir.length + 1, -'/data'.length);
  return inner.length > 0 && !inner.includes('/');
}

export class AppendOnlyWatch implements FileSystem {
  readonly #inner: FileSystem;
  readonly #dataDir: string;
  /** Bytes of each watched file the monitor has checked: a change inside them is a violation. */
  readonly #guarded = new Map<string, number>();
  readonly #found: DataRewrite[] = [];

  constructor(inner: FileSystem, dataDir: string) {
    this.#inner = inner;
    this.#dataDir = dataDir;
  }

  /** The monitor checked `path` up to `length` bytes. */
  guard(path: string, length: number): void {
    this.#guarded.set(path, length);
  }

  /** Rewrites found since the last call, and forget them. */
  takeRewrites(): DataRewrite[] {
    return this.#found.splice(0);
  }

  exists(path: string): boolean {
    return this.#inner.exists(path);
  }
  size(path: string): number {
    return this.#inner.size(path);
  }
  read(path: string): Uint8Array {
    return this.#inner.read(path);
  }
  readRange(path: string, offset: number, length: number): Uint8Array {
    return this.#inner.readRange(path, offset, length);
  }
  append(path: string, bytes: Uint8Array): void {
    this.#inner.append(path, bytes);
  }
  mkdirp(path: string): void {
    this.#inner.mkdirp(path);
  }
  list(path: string): string[] {
    return this.#inner.list(path);
  }
  remove(path: string): void {
    const guarded = this.#guarded.get(path) ?? 0;
    if (guarded > 0 && this.#inner.exists(path))
      this.#found.push({ path, at: 0, before: this.#inner.size(path), after: 0 });
    this.#inner.remove(path);
  }
  writeAtomic(path: string, bytes: Uint8Array): void {
    const guarded = this.#guarded.get(path) ?? 0;
    if (guarded > 0 && isCommunityData(this.#dataDir, path) && this.#inner.exists(path)) {
      const before = this.#inner.size(path);
      const at = firstDifference(this.#inner.readRange(path, 0, Math.min(guarded, before)), bytes);
      if (at !== undefined) this.#found.push({ path, at, before, after: bytes.length });
    }
    this.#inner.writeAtomic(path, bytes);
  }
}

/** The first index where `after` does not continue `before` (shorter counts), or undefined. */
function firstDifference(before: Uint8Array, after: Uint8Array): number | undefined {
  const n = Math.min(before.length, after.length);
  for (let i = 0; i < n; i++) if (before[i] !== after[i]) return i;
  return after.length < before.length ? after.length : undefined;
}
