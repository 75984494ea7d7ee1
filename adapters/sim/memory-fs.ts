// The FileSystem of a simulated node. A simulated world holds thousands of nodes carrying
// the same archive bytes, so files keep the buffers they are given *by reference* as a
// list of chunks: writing or appending never copies, and `readRange` copies only the bytes
// asked for. Callers must not mutate a buffer after handing it over (archive code never
// does: it builds fresh buffers per round).
//
// Crash model: every call is atomic (the simulator runs one call at a time), so after a
// crash the files hold exactly what the last completed call left.

import { FileNotFound, type FileSystem } from '../../ports/filesystem.ts';

interface MemoryFile {
  chunks: Uint8Array[];
  /** ends[i]: offset just past chunks[i], so a range read finds its first chunk by bisection. */
  ends: number[];
}

function sizeOf(f: MemoryFile): number {
  return f.ends[f.ends.length - 1] ?? 0;
}

function endsOf(chunks: Uint8Array[]): number[] {
  const ends: number[] = [];
  let at = 0;
  for (const c of chunks) {
    at += c.length;
    ends.push(at);
  }
  return ends;
}

/** Index of the first chunk that ends past `offset`. */
function firstChunkPast(ends: number[], offset: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ends[mid] as number) <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Normalized spellings of the paths seen lately: a node asks for the same few paths
 * (its community folders' data, index, torrent) on every round, thousands of nodes at once.
 */
const normalized = new Map<string, string>();

function normalize(path: string): string {
  let n = normalized.get(path);
  if (n === undefined) {
    n = normalizeUncached(path);
    if (normalized.size >= 65_536) normalized.clear();
    normalized.set(path, n);
  }
  return n;
}

function normalizeUncached(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export class MemoryFileSystem implements FileSystem {
  readonly #files = new Map<string, MemoryFile>();
  readonly #dirs = new Set<string>(['/']);

  exists(path: string): boolean {
    const p = normalize(path);
    return this.#files.has(p) || this.#dirs.has(p);
  }

  size(path: string): number {
    return sizeOf(this.#file(path));
  }

  read(path: string): Uint8Array {
    const f = this.#file(path);
    if (f.chunks.length === 1) return f.chunks[0]!.slice();
    const out = new Uint8Array(sizeOf(f));
    let at = 0;
    for (const c of f.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  readRange(path: string, offset: number, length: number): Uint8Array {
    const f = this.#file(path);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`${path}: bad range ${offset}+${length}`);
    }
    if (offset + length > sizeOf(f)) {
      throw new RangeError(
        `${path}: ${length} bytes at ${offset} past the end of the file (${sizeOf(f)} bytes)`,
      );
    }
    const out = new Uint8Array(length);
    let written = 0;
    // A member's data file is hundreds of chunks by the end of a simulated year.
    for (let i = firstChunkPast(f.ends, offset); i < f.chunks.length && written < length; i++) {
      const c = f.chunks[i] as Uint8Array;
      const start = (f.ends[i] as number) - c.length;
      const from = Math.max(0, offset + written - start);
      const take = Math.min(c.length - from, length - written);
      out.set(c.subarray(from, from + take), written);
      written += take;
    }
    return out;
  }

  writeAtomic(path: string, bytes: Uint8Array): void {
    this.writeChunks(path, [bytes]);
  }

  /** Replace a file by these chunks, kept by reference (no copy). */
  writeChunks(path: string, chunks: Uint8Array[]): void {
    const p = this.#creatable(path);
    const kept = chunks.filter((c) => c.length > 0);
    this.#files.set(p, { chunks: kept, ends: endsOf(kept) });
  }

  append(path: string, bytes: Uint8Array): void {
    const p = this.#creatable(path);
    let f = this.#files.get(p);
    if (!f) {
      f = { chunks: [], ends: [] };
      this.#files.set(p, f);
    }
    if (bytes.length === 0) return;
    f.ends.push(sizeOf(f) + bytes.length);
    f.chunks.push(bytes);
  }

  /** The chunks of a file, by reference (do not mutate them). */
  chunks(path: string): Uint8Array[] {
    return [...this.#file(path).chunks];
  }

  mkdirp(path: string): void {
    let p = normalize(path);
    if (this.#files.has(p)) throw new Error(`${path}: is a file`);
    while (!this.#dirs.has(p)) {
      this.#dirs.add(p);
      p = parentOf(p);
    }
  }

  list(path: string): string[] {
    const p = normalize(path);
    if (!this.#dirs.has(p)) return [];
    const prefix = p === '/' ? '/' : `${p}/`;
    const names = new Set<string>();
    for (const key of [...this.#files.keys(), ...this.#dirs]) {
      if (key.length > prefix.length && key.startsWith(prefix)) {
        const rest = key.slice(prefix.length);
        names.add(rest.split('/')[0]!);
      }
    }
    return [...names].sort();
  }

  remove(path: string): void {
    const p = normalize(path);
    this.#files.delete(p);
    if (p === '/') return;
    const prefix = `${p}/`;
    for (const key of [...this.#files.keys()]) if (key.startsWith(prefix)) this.#files.delete(key);
    for (const key of [...this.#dirs]) if (key === p || key.startsWith(prefix)) this.#dirs.delete(key);
  }

  /** Nothing to lose: every call completed atomically (see the crash model above). */
  crash(): void {}

  /** Bytes held by this file system's files (shared chunks counted once per file). */
  totalBytes(): number {
    let n = 0;
    for (const f of this.#files.values()) n += sizeOf(f);
    return n;
  }

  #file(path: string): MemoryFile {
    const f = this.#files.get(normalize(path));
    if (!f) throw new FileNotFound(path);
    return f;
  }

  /** Files can be created in any folder; the parent folders come into being (like the sim needs). */
  #creatable(path: string): string {
    const p = normalize(path);
    if (this.#dirs.has(p)) throw new Error(`${path}: is a folder`);
    this.mkdirp(parentOf(p));
    return p;
  }
}
