// The FileSystem port over node:fs. `writeAtomic` writes a temporary file next to the
// target, fsyncs it, renames it over the target and fsyncs the folder, so a crash leaves
// either the old content or the new one. `append` writes one buffer and fsyncs it.
// Like the in-memory one, writing a file creates its missing parent folders.

import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileNotFound, type FileSystem } from '../../ports/filesystem.ts';

function rethrow(path: string, error: unknown): never {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFound(path);
  throw error;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

function fsyncFolder(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot open or fsync a folder; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

let tmpCounter = 0;

export class NodeFileSystem implements FileSystem {
  exists(path: string): boolean {
    return existsSync(path);
  }

  size(path: string): number {
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new Error(`${path}: not a file`);
      return st.size;
    } catch (error) {
      return rethrow(path, error);
    }
  }

  read(path: string): Uint8Array {
    try {
      const buf = readFileSync(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (error) {
      return rethrow(path, error);
    }
  }

  readRange(path: string, offset: number, length: number): Uint8Array {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`${path}: bad range ${offset}+${length}`);
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      return rethrow(path, error);
    }
    try {
      const size = fstatSync(fd).size;
      if (offset + length > size) {
        throw new RangeError(
          `${path}: ${length} bytes at ${offset} past the end of the file (${size} bytes)`,
        );
      }
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw new RangeError(`${path}: file shrank while reading`);
        done += n;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }

  writeAtomic(path: string, bytes: Uint8Array): void {
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${tmpCounter++}`);
    const fd = openSync(tmp, 'w');
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw error;
    }
    closeSync(fd);
    try {
      renameSync(tmp, path);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw error;
    }
    fsyncFolder(dir);
  }

  append(path: string, bytes: Uint8Array): void {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'a');
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  mkdirp(path: string): void {
    mkdirSync(path, { recursive: true });
  }

  list(path: string): string[] {
    try {
      return readdirSync(path).sort();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw error;
    }
  }

  remove(path: string): void {
    try {
      if (statSync(path).isDirectory()) rmSync(path, { recursive: true, force: true });
      else unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
