// The FileSystem contract against both implementations, and what only the in-memory one
// promises: buffers are kept by reference (thousands of simulated nodes share archive bytes).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { MemoryFileSystem } from '../adapters/sim/memory-fs.ts';
import { describeFileSystemContract } from './contract/filesystem.contract.ts';

describeFileSystemContract('MemoryFileSystem', () => {
  const fs = new MemoryFileSystem();
  fs.mkdirp('/root');
  return { fs, root: '/root' };
});

describeFileSystemContract('NodeFileSystem', () => ({
  fs: new NodeFileSystem(),
  root: mkdtempSync(join(tmpdir(), 'archivist-fs-')),
}));

describe('MemoryFileSystem sharing', () => {
  test('append and writeChunks keep the buffers by reference; chunks() hands them back', () => {
    const fs = new MemoryFileSystem();
    const a = new Uint8Array(1000).fill(1);
    const b = new Uint8Array(500).fill(2);
    fs.append('/x/data', a);
    fs.append('/x/data', b);
    const chunks = fs.chunks('/x/data');
    expect(chunks[0]).toBe(a);
    expect(chunks[1]).toBe(b);
    const other = new MemoryFileSystem();
    other.writeChunks('/y/data', chunks);
    expect(other.chunks('/y/data')[0]).toBe(a);
    expect(other.size('/y/data')).toBe(1500);
  });

  test('readRange copies only the requested bytes, across chunk boundaries', () => {
    const fs = new MemoryFileSystem();
    const chunks = [0, 1, 2, 3].map((k) => new Uint8Array(10).fill(k));
    fs.writeChunks('/f', chunks);
    const r = fs.readRange('/f', 8, 14);
    expect(r.length).toBe(14);
    expect([...r]).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2]);
    expect(r.buffer).not.toBe(chunks[0]!.buffer);
  });

  test('readRange of any range equals the same range of the concatenated chunks (written, then appended)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }),
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
        fc.nat(),
        fc.nat(),
        (written, appended, a, b) => {
          const fs = new MemoryFileSystem();
          fs.writeChunks('/f', written);
          for (const c of appended) fs.append('/f', c);
          const all = Uint8Array.from([...written, ...appended].flatMap((c) => [...c]));
          expect(fs.size('/f')).toBe(all.length);
          const offset = all.length === 0 ? 0 : a % (all.length + 1);
          const length = (b % (all.length - offset + 1)) | 0;
          expect([...fs.readRange('/f', offset, length)]).toEqual([...all.subarray(offset, offset + length)]);
        },
      ),
    );
  });
});
