// The pieces of one torrent on disk, at `<parentDir>/<name>/<path>` for each file of the
// info dictionary; a piece that spans the end of one file goes on into the next.
//
// Files are created on the first write, so nothing is written before the info dictionary
// has been checked, and never truncated below the torrent's own length: a new round's `data`
// starts with the previous round's bytes, which stay valid pieces of the new torrent
// (protocol.md §5.1). A complete file is cut to that length (`trim`), so a shorter file of a
// new torrent does not keep an older one's tail.

import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface PieceLayout {
  name: string;
  pieceLength: number;
  /** SHA-1 of each piece, 20 bytes each. */
  pieceHashes: Uint8Array[];
  files: { path: string; length: number; offset: number }[];
}

interface Span {
  path: string;
  /** Position in the file. */
  position: number;
  length: number;
}

export class PieceStore {
  readonly #dir: string;
  readonly #layout: PieceLayout;
  readonly #total: number;
  readonly #fds = new Map<string, number>();

  constructor(parentDir: string, layout: PieceLayout) {
    this.#dir = join(parentDir, layout.name);
    this.#layout = layout;
    this.#total = layout.files.reduce((n, f) => n + f.length, 0);
  }

  get pieceCount(): number {
    return this.#layout.pieceHashes.length;
  }

  pieceSize(index: number): number {
    const start = index * this.#layout.pieceLength;
    return Math.max(0, Math.min(this.#layout.pieceLength, this.#total - start));
  }

  /** True when `bytes` are piece `index` (its SHA-1 is the one in the info dictionary). */
  matches(index: number, bytes: Uint8Array): boolean {
    const want = this.#layout.pieceHashes[index];
    if (want === undefined || bytes.length !== this.pieceSize(index)) return false;
    return createHash('sha1').update(bytes).digest().equals(want);
  }

  /** Bytes [offset, offset + length) of piece `index`; undefined when not all on disk. */
  read(index: number, offset: number, length: number): Uint8Array | undefined {
    const out = new Uint8Array(length);
    let at = 0;
    for (const span of this.#spans(index * this.#layout.pieceLength + offset, length)) {
      const fd = this.#open(span.path, false);
      if (fd === undefined) return undefined;
      const n = readSync(fd, out, at, span.length, span.position);
      if (n !== span.length) return undefined;
      at += n;
    }
    return at === length ? out : undefined;
  }

  /** Writes a whole verified piece. */
  write(index: number, bytes: Uint8Array): void {
    let at = 0;
    for (const span of this.#spans(index * this.#layout.pieceLength, bytes.length)) {
      const fd = this.#open(span.path, true)!;
      writeSync(fd, bytes, at, span.length, span.position);
      at += span.length;
    }
  }

  /** Which pieces are on disk with the right hash (pieces kept from an earlier round). */
  scan(): boolean[] {
    const have: boolean[] = [];
    for (let i = 0; i < this.pieceCount; i++) {
      const bytes = this.read(i, 0, this.pieceSize(i));
      have.push(bytes !== undefined && this.matches(i, bytes));
    }
    return have;
  }

  /** Cuts `path` to its length in this torrent when it is longer (a tail left by another torrent). */
  trim(path: string): void {
    const f = this.#layout.files.find((x) => x.path === path);
    const fd = f === undefined ? undefined : this.#open(path, false);
    if (f === undefined || fd === undefined) return;
    if (fstatSync(fd).size > f.length) ftruncateSync(fd, f.length);
  }

  close(): void {
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }

  *#spans(start: number, length: number): Generator<Span> {
    const end = start + length;
    for (const f of this.#layout.files) {
      const from = Math.max(start, f.offset);
      const to = Math.min(end, f.offset + f.length);
      if (from < to) yield { path: f.path, position: from - f.offset, length: to - from };
    }
  }

  #open(path: string, create: boolean): number | undefined {
    const known = this.#fds.get(path);
    if (known !== undefined) return known;
    const file = join(this.#dir, path);
    if (!existsSync(file)) {
      if (!create) return undefined;
      mkdirSync(this.#dir, { recursive: true });
      closeSync(openSync(file, 'a'));
    }
    const fd = openSync(file, 'r+');
    this.#fds.set(path, fd);
    return fd;
  }
}
