// The FileSystem port's contract (ports/filesystem.ts), run against every
// implementation: the in-memory one of the simulator and the node:fs one.

import { describe, expect, test } from 'vitest';
import { FileNotFound, type FileSystem } from '../../ports/filesystem.ts';

const bytes = (...v: number[]) => new Uint8Array(v);

/** `makeFs` returns a fresh file system and a root folder (existing, empty) to work in. */
export function describeFileSystemContract(
  name: string,
  makeFs: () => { fs: FileSystem; root: string },
): void {
  describe(`FileSystem contract: ${name}`, () => {
    test('absent files: exists is false, size/read/readRange throw FileNotFound, list is []', () => {
      const { fs, root } = makeFs();
      expect(fs.exists(`${root}/nope`)).toBe(false);
      expect(() => fs.size(`${root}/nope`)).toThrow(FileNotFound);
      expect(() => fs.read(`${root}/nope`)).toThrow(FileNotFound);
      expect(() => fs.readRange(`${root}/nope`, 0, 1)).toThrow(FileNotFound);
      expect(fs.list(`${root}/nope`)).toEqual([]);
    });

    test('writeAtomic replaces the whole file; read returns it; size follows', () => {
      const { fs, root } = makeFs();
      const p = `${root}/f`;
      fs.writeAtomic(p, bytes(1, 2, 3, 4));
      expect(fs.exists(p)).toBe(true);
      expect(fs.size(p)).toBe(4);
      expect([...fs.read(p)]).toEqual([1, 2, 3, 4]);
      fs.writeAtomic(p, bytes(9));
      expect([...fs.read(p)]).toEqual([9]);
      expect(fs.size(p)).toBe(1);
      fs.writeAtomic(p, new Uint8Array(0));
      expect(fs.size(p)).toBe(0);
    });

    test('append creates the file, then grows it; readRange reads across appended buffers', () => {
      const { fs, root } = makeFs();
      const p = `${root}/data`;
      fs.append(p, bytes(1, 2, 3));
      fs.append(p, bytes(4, 5));
      fs.append(p, new Uint8Array(0));
      fs.append(p, bytes(6, 7, 8, 9));
      expect(fs.size(p)).toBe(9);
      expect([...fs.read(p)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect([...fs.readRange(p, 2, 5)]).toEqual([3, 4, 5, 6, 7]);
      expect([...fs.readRange(p, 0, 0)]).toEqual([]);
      expect([...fs.readRange(p, 8, 1)]).toEqual([9]);
      expect([...fs.readRange(p, 9, 0)]).toEqual([]);
    });

    test('readRange past the end throws a RangeError naming the file', () => {
      const { fs, root } = makeFs();
      const p = `${root}/short`;
      fs.writeAtomic(p, bytes(1, 2, 3));
      expect(() => fs.readRange(p, 2, 2)).toThrow(RangeError);
      expect(() => fs.readRange(p, 2, 2)).toThrow(/short/);
    });

    test('a buffer handed over and then read back is equal; reads are copies callers may keep', () => {
      const { fs, root } = makeFs();
      const p = `${root}/c`;
      fs.writeAtomic(p, bytes(1, 2, 3));
      const r = fs.readRange(p, 0, 3);
      expect([...r]).toEqual([1, 2, 3]);
      fs.writeAtomic(p, bytes(7, 7, 7));
      expect([...r]).toEqual([1, 2, 3]);
    });

    test('mkdirp makes nested folders (idempotent); list gives sorted names directly inside', () => {
      const { fs, root } = makeFs();
      fs.mkdirp(`${root}/a/b/c`);
      fs.mkdirp(`${root}/a/b/c`);
      expect(fs.exists(`${root}/a/b`)).toBe(true);
      fs.writeAtomic(`${root}/a/z`, bytes(1));
      fs.writeAtomic(`${root}/a/m`, bytes(1));
      fs.append(`${root}/a/b/inner`, bytes(1));
      expect(fs.list(`${root}/a`)).toEqual(['b', 'm', 'z']);
      expect(fs.list(`${root}/a/b`)).toEqual(['c', 'inner']);
    });

    test('writing into a missing folder creates it', () => {
      const { fs, root } = makeFs();
      fs.writeAtomic(`${root}/new/deep/f`, bytes(5));
      fs.append(`${root}/other/g`, bytes(6));
      expect([...fs.read(`${root}/new/deep/f`)]).toEqual([5]);
      expect([...fs.read(`${root}/other/g`)]).toEqual([6]);
    });

    test('remove deletes a file or a whole folder; removing what is absent is a no-op', () => {
      const { fs, root } = makeFs();
      fs.writeAtomic(`${root}/d/x`, bytes(1));
      fs.writeAtomic(`${root}/d/e/y`, bytes(2));
      fs.writeAtomic(`${root}/keep`, bytes(3));
      fs.remove(`${root}/d/x`);
      expect(fs.exists(`${root}/d/x`)).toBe(false);
      expect(fs.exists(`${root}/d/e/y`)).toBe(true);
      fs.remove(`${root}/d`);
      expect(fs.exists(`${root}/d`)).toBe(false);
      expect(fs.exists(`${root}/d/e/y`)).toBe(false);
      expect(fs.list(root)).toEqual(['keep']);
      fs.remove(`${root}/never`);
    });

    test('writeAtomic leaves no temporary file behind', () => {
      const { fs, root } = makeFs();
      fs.writeAtomic(`${root}/t/index`, bytes(1, 2));
      fs.writeAtomic(`${root}/t/index`, bytes(3));
      expect(fs.list(`${root}/t`)).toEqual(['index']);
    });
  });
}
