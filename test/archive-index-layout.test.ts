// The layout check a member runs before downloading (archive/index-layout.ts): every index
// an owner's rounds write keeps it, and each way of breaking §4 / §10 invariant 3 is named.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../adapters/sim/memory-fs.ts';
import { createArchiveRound, readIndex } from '../archive/index.ts';
import {
  archiveLayoutProblems,
  type IndexLayoutEntry,
  indexLayoutProblems,
  indexLayoutVerdict,
  torrentLayoutProblems,
  torrentLayoutVerdict,
} from '../archive/index-layout.ts';
import { chatTopic } from '../proto/topics.ts';

const P = 1024;
const ID = '0x02aa';
const topic = chatTopic('general');

/** The index and data length after `rounds` owner rounds of random messages. */
function ownerIndex(
  sizes: number[][],
  extraPaddingPiece: boolean,
): { entries: IndexLayoutEntry[]; dataLength: number } {
  const fs = new MemoryFileSystem();
  let t = 1_000_000;
  sizes.forEach((round, r) => {
    const messages = round.map((size, i) => ({
      sig: Uint8Array.of(r, i),
      timestamp: t + i * 1000,
      topic,
      payload: new Uint8Array(size).fill(i),
      padding: new Uint8Array(0),
      hash: Uint8Array.of(r, i, 7),
      thirdPartyId: '',
    }));
    createArchiveRound(fs, {
      dataDir: '/d',
      torrentDir: '/t',
      communityId: ID,
      topics: [topic],
      messages,
      start: t,
      end: t + 100_000,
      options: { pieceLength: P, archiveInterval: 20_000, maxArchiveChunk: 3000, extraPaddingPiece },
    });
    t += 100_000;
  });
  const entries = [...readIndex(fs, `/d/${ID}`).archives].map(([id, m]) => ({ id, ...m }));
  const dataLength = fs.exists(`/d/${ID}/data`) ? fs.size(`/d/${ID}/data`) : 0;
  return { entries, dataLength };
}

const rounds = fc.array(fc.array(fc.integer({ min: 0, max: 2500 }), { minLength: 1, maxLength: 12 }), {
  minLength: 1,
  maxLength: 4,
});

describe('the layout a member checks before downloading', () => {
  test.prop([rounds, fc.boolean()], { numRuns: 60 })(
    'every index an owner writes keeps it',
    (sizes, quirk) => {
      const { entries, dataLength } = ownerIndex(sizes, quirk);
      expect(indexLayoutProblems(entries, P, dataLength)).toEqual([]);
    },
  );

  const a = (id: string, offset: number, size: number, padding = 10): IndexLayoutEntry => ({
    id,
    offset,
    size,
    padding,
  });

  it('names overlaps, gaps, bad sizes, padding past size and a wrong data length', () => {
    expect(indexLayoutProblems([a('0x1', 0, P), a('0x2', P, 2 * P)], P, 3 * P)).toEqual([]);
    expect(indexLayoutProblems([a('0x1', 0, 2 * P), a('0x2', P, P)], P, 2 * P)).toEqual([
      'archive 0x2 at offset 1024 overlaps the archive before it (which ends at 2048)',
    ]);
    expect(indexLayoutProblems([a('0x1', 0, P), a('0x2', 2 * P, P)], P, 3 * P)).toEqual([
      'archive 0x2 at offset 2048 leaves a gap after 1024',
    ]);
    expect(indexLayoutProblems([a('0x1', 0, P + 1)], P, P + 1)).toEqual([
      'archive 0x1: size 1025 is not a positive multiple of the piece length 1024',
    ]);
    expect(indexLayoutProblems([a('0x1', 0, P, P + 1)], P, P)).toEqual([
      'archive 0x1: padding 1025 > size 1024',
    ]);
    expect(indexLayoutProblems([a('0x1', 0, P)], P, 2 * P)).toEqual([
      "the index describes 1024 bytes of data, the torrent's data file has 2048",
    ]);
    expect(indexLayoutProblems([a('0x1', 2 ** 64, P)], P, P)[0]).toMatch(/are not byte counts/);
    expect(indexLayoutProblems([], P, 0)).toEqual([]);
  });

  it('wants exactly data, then index, in the torrent', () => {
    const files = (...paths: string[]) => ({
      pieceLength: P,
      files: paths.map((path) => ({
        path,
        length: path === 'data' ? P : path === 'index' ? 10 : 0,
        offset: 0,
      })),
    });
    expect(torrentLayoutProblems(files('data', 'index'))).toEqual([]);
    expect(torrentLayoutProblems(files('data', 'index', 'link'))).toEqual([
      'the torrent holds ["data","index","link"], not exactly ["data","index"]',
    ]);
    expect(torrentLayoutProblems(files('index', 'data'))).toHaveLength(1);
    expect(archiveLayoutProblems([a('0x1', 0, P)], files('data', 'index'))).toEqual([]);
    expect(archiveLayoutProblems([a('0x1', 0, P)], files('data', 'index', 'x'))).toHaveLength(1);
    expect(torrentLayoutVerdict(files('data', 'index'))).toBeUndefined();
    expect(indexLayoutVerdict([a('0x1', 0, P)], files('data', 'index'))).toBeUndefined();
    const five = [0, 1, 2, 3, 4].map((i) => a(`0x${i}`, 0, P));
    expect(indexLayoutVerdict(five, files('data', 'index'))).toBe(
      'the index breaks §10 invariant 3: archive 0x1 at offset 0 overlaps the archive before it (which ends at 1024); ' +
        'archive 0x2 at offset 0 overlaps the archive before it (which ends at 1024); ' +
        'archive 0x3 at offset 0 overlaps the archive before it (which ends at 1024); 1 more',
    );
  });
});
