// `archivist archive build|inspect|extract` through the CLI entry (in-process `main()`),
// plus the real binary once. Bad input: exit 2, one line on stderr naming the file (and
// line), and nothing on disk changed.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { captureCli } from './cli-helpers.ts';

const community = communityIdOf(generateCommunityKey(new TextEncoder().encode('cli-archive')));
const other = communityIdOf(generateCommunityKey(new TextEncoder().encode('another')));
const DAY = 86_400;
const T0 = 1_700_000_000;

const io = captureCli({ clearOnRun: true });
const cli = io.run;
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'archivist-archive-'));
});

const h = (n: number, bytes: number) => `0x${n.toString(16).padStart(2, '0').repeat(bytes)}`;

/** Message lines in the canonical output form of `extract`. */
function lines(from: number, count: number, stepS: number, topic = '0x01020304'): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = from + i;
    const o: Record<string, unknown> = {
      timestamp: T0 + n * stepS,
      sig: h(n % 256, 65),
      topic,
      payload: h((n * 7) % 256, 300 + (n % 50) * 40),
      padding: '0x',
      hash: `0x${n.toString(16).padStart(64, '0')}`,
    };
    if (n % 4 === 0) o.thirdPartyId = `tp-${n}`;
    out.push(JSON.stringify(o));
  }
  return out;
}

function writeMessages(name: string, content: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${content.join('\n')}\n`);
  return file;
}

/** Every file under `root` with its SHA-1, to prove nothing changed. */
function snapshot(root: string): Record<string, string> {
  const snap: Record<string, string> = {};
  const walk = (p: string) => {
    for (const name of readdirSync(p)) {
      const q = join(p, name);
      if (statSync(q).isDirectory()) walk(q);
      else snap[q] = createHash('sha1').update(readFileSync(q)).digest('hex');
    }
  };
  walk(root);
  return snap;
}

// An independent bencode, enough for the info dictionary.
type B = number | string | Uint8Array | B[] | { [k: string]: B };
function benc(v: B): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${v}e`);
  if (typeof v === 'string') return benc(Buffer.from(v, 'utf8'));
  if (v instanceof Uint8Array) return Buffer.concat([Buffer.from(`${v.length}:`), v]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(benc), Buffer.from('e')]);
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((k) => [benc(k), benc(v[k]!)]), Buffer.from('e')]);
}

function infoHashFromFiles(folder: string, name: string, P: number): string {
  const data = readFileSync(join(folder, 'data'));
  const index = readFileSync(join(folder, 'index'));
  const all = Buffer.concat([data, index]);
  const pieces: Buffer[] = [];
  for (let p = 0; p < all.length; p += P)
    pieces.push(
      createHash('sha1')
        .update(all.subarray(p, p + P))
        .digest(),
    );
  const info = benc({
    files: [
      { length: data.length, path: ['data'] },
      { length: index.length, path: ['index'] },
    ],
    name,
    'piece length': P,
    pieces: Buffer.concat(pieces),
  });
  return createHash('sha1').update(info).digest('hex');
}

interface BuildOutput {
  communityId: string;
  start: number;
  end: number;
  archives: {
    id: string;
    from: number;
    to: number;
    offset: number;
    size: number;
    padding: number;
    messages: number;
  }[];
  dropped: number;
  infoHash: string | null;
  magnet: string | null;
}

describe('archive build / inspect / extract', () => {
  test('two rounds: JSON output, append-only data, info-hash reproducible from the files, inspect and extract', async () => {
    const outDir = join(dir, 'out');
    const folder = join(outDir, community);
    const week1 = lines(0, 40, DAY / 4); // 10 days of traffic
    const f1 = writeMessages('m1.jsonl', week1);
    expect(
      await cli(
        'archive',
        'build',
        '--community',
        community,
        '--messages',
        f1,
        '--out',
        outDir,
        '--end',
        String(T0 + 7 * DAY),
      ),
    ).toBe(0);
    const r1 = JSON.parse(io.out) as BuildOutput;
    expect(Object.keys(r1)).toEqual([
      'communityId',
      'start',
      'end',
      'archives',
      'dropped',
      'infoHash',
      'magnet',
    ]);
    expect(r1.start).toBe(T0);
    expect(r1.end).toBe(T0 + 7 * DAY);
    expect(r1.archives).toHaveLength(1);
    expect(r1.archives[0]).toMatchObject({ from: T0, to: T0 + 7 * DAY, offset: 0, messages: 28 });
    expect(r1.infoHash).toBe(infoHashFromFiles(folder, community, 102_400));
    expect(r1.magnet).toBe(`magnet:?xt=urn:btih:${r1.infoHash}&dn=${community}`);
    const data1 = readFileSync(join(folder, 'data'));

    // Round 2: start defaults to the last archive end; end to the newest message + 1.
    const f2 = writeMessages('m2.jsonl', [...week1, ...lines(40, 20, DAY / 4)]);
    expect(
      await cli(
        'archive',
        'build',
        '--community',
        community,
        '--messages',
        f2,
        '--out',
        outDir,
        '--interval',
        String(4 * DAY),
      ),
    ).toBe(0);
    const r2 = JSON.parse(io.out) as BuildOutput;
    expect(r2.start).toBe(T0 + 7 * DAY);
    expect(r2.end).toBe(T0 + 59 * (DAY / 4) + 1);
    expect(r2.archives.map((a) => [a.from, a.to])).toEqual([
      [T0 + 7 * DAY, T0 + 11 * DAY],
      [T0 + 11 * DAY, r2.end],
    ]);
    expect(r2.archives[0]!.offset).toBe(data1.length);
    const data2 = readFileSync(join(folder, 'data'));
    expect(data2.subarray(0, data1.length).equals(data1)).toBe(true);
    expect(r2.infoHash).toBe(infoHashFromFiles(folder, community, 102_400));
    const torrent = readFileSync(join(outDir, `${community}.torrent`));
    expect(createHash('sha1').update(torrent).digest('hex')).not.toBe('');

    expect(await cli('archive', 'inspect', folder)).toBe(0);
    const report = JSON.parse(io.out);
    expect(report.archives.map((a: { id: string }) => a.id)).toEqual(
      [...r1.archives, ...r2.archives].map((a) => a.id),
    );
    expect(report.totals).toMatchObject({ archives: 3, messages: 60, dataBytes: data2.length });
    expect(report.torrent.infoHash).toBe(r2.infoHash);
    expect(report.verification.ok).toBe(true);

    // Extraction gives back the input lines of that archive, in timestamp order.
    expect(await cli('archive', 'extract', folder, r1.archives[0]!.id)).toBe(0);
    expect(io.out.trimEnd().split('\n')).toEqual(week1.slice(0, 28));
    expect(await cli('archive', 'extract', folder, r2.archives[1]!.id)).toBe(0);
    expect(io.out.trimEnd().split('\n')).toEqual(lines(44, 16, DAY / 4));
  });

  test('topics: default all distinct; given topics keep their order and filter the messages', async () => {
    const outDir = join(dir, 'out');
    const f = writeMessages('m.jsonl', [...lines(0, 3, 60, '0x0a0a0a0a'), ...lines(3, 2, 60, '0x01010101')]);
    expect(
      await cli(
        'archive',
        'build',
        '--community',
        community,
        '--messages',
        f,
        '--out',
        outDir,
        '--topics',
        '0x0a0a0a0a',
        '--piece-length',
        '1000',
      ),
    ).toBe(0);
    const r = JSON.parse(io.out) as BuildOutput;
    expect(r.archives[0]!.messages).toBe(3);
    expect(r.infoHash).toBe(infoHashFromFiles(join(outDir, community), community, 1000));
    expect(await cli('archive', 'inspect', join(outDir, community))).toBe(0);
    expect(JSON.parse(io.out).archives[0].topics).toEqual(['0x0a0a0a0a']);
  });

  test('--max-archive-bytes: oversize messages are dropped and counted', async () => {
    const outDir = join(dir, 'out');
    const f = writeMessages('m.jsonl', lines(0, 6, 60));
    expect(
      await cli(
        'archive',
        'build',
        '--community',
        community,
        '--messages',
        f,
        '--out',
        outDir,
        '--max-archive-bytes',
        '600',
      ),
    ).toBe(0);
    const r = JSON.parse(io.out) as BuildOutput;
    // payloads are 300 + 40n bytes plus a 65-byte signature: n = 0..5 weigh 365..565; 405+... chunk at 600
    expect(r.dropped).toBe(0);
    expect(r.archives.length).toBeGreaterThan(1);
    expect(
      await cli(
        'archive',
        'build',
        '--community',
        community,
        '--messages',
        f,
        '--out',
        join(dir, 'o2'),
        '--max-archive-bytes',
        '400',
      ),
    ).toBe(0);
    expect((JSON.parse(io.out) as BuildOutput).dropped).toBe(5);
  });
});

describe('bad input: exit 2, one line on stderr, nothing on disk changed', () => {
  async function prepared(): Promise<{ outDir: string; folder: string; id: string; file: string }> {
    const outDir = join(dir, 'out');
    const file = writeMessages('ok.jsonl', lines(0, 10, 3600));
    expect(await cli('archive', 'build', '--community', community, '--messages', file, '--out', outDir)).toBe(
      0,
    );
    return {
      outDir,
      folder: join(outDir, community),
      id: (JSON.parse(io.out) as BuildOutput).archives[0]!.id,
      file,
    };
  }

  async function expectRefused(args: string[], pattern: RegExp, root: string): Promise<void> {
    const before = snapshot(root);
    expect(await cli(...args)).toBe(2);
    expect(io.err.trimEnd().split('\n')).toHaveLength(1);
    expect(io.err).toMatch(pattern);
    expect(io.err).not.toMatch(/\n\s+at /);
    expect(snapshot(root)).toEqual(before);
  }

  /** A community folder that fails its checks: the report on stdout, exit 1, a line per problem. */
  async function expectVerificationFailed(folder: string, pattern: RegExp, root: string): Promise<void> {
    const before = snapshot(root);
    expect(await cli('archive', 'inspect', folder)).toBe(1);
    const report = JSON.parse(io.out) as { verification: { ok: boolean; problems: string[] } };
    expect(report.verification.ok).toBe(false);
    const errLines = io.err.trimEnd().split('\n');
    expect(errLines).toHaveLength(report.verification.problems.length);
    for (const line of errLines) expect(line).toMatch(/^archivist: .*: verification failed: /);
    expect(io.err).toMatch(pattern);
    expect(io.err).not.toMatch(/\n\s+at /);
    expect(snapshot(root)).toEqual(before);
  }

  test('a malformed JSONL line names file:line', async () => {
    const { outDir } = await prepared();
    const bad = writeMessages('bad.jsonl', [...lines(20, 2, 3600), '{"timestamp": 5, "sig": "0xzz"}']);
    await expectRefused(
      ['archive', 'build', '--community', community, '--messages', bad, '--out', outDir],
      /bad\.jsonl:3: field "sig"/,
      dir,
    );
    const notJson = writeMessages('nj.jsonl', ['{"timestamp": 5}', '', 'oops']);
    await expectRefused(
      ['archive', 'build', '--community', community, '--messages', notJson, '--out', outDir],
      /nj\.jsonl:3: not JSON/,
      dir,
    );
    const noTs = writeMessages('nt.jsonl', ['{"payload": "0x00"}']);
    await expectRefused(
      ['archive', 'build', '--community', community, '--messages', noTs, '--out', outDir],
      /nt\.jsonl:1: field "timestamp"/,
      dir,
    );
  });

  test('an unknown archive id', async () => {
    const { folder } = await prepared();
    await expectRefused(
      ['archive', 'extract', folder, `0x${'ab'.repeat(32)}`],
      /index: unknown archive id 0xabab/,
      dir,
    );
    await expectRefused(['archive', 'extract', folder, 'nope'], /not an archive id/, dir);
  });

  test('a truncated data', async () => {
    const { folder, id, outDir, file } = await prepared();
    const data = readFileSync(join(folder, 'data'));
    writeFileSync(join(folder, 'data'), data.subarray(0, 1000));
    await expectRefused(['archive', 'extract', folder, id], /data: truncated/, dir);
    const more = writeMessages('more.jsonl', [...lines(0, 10, 3600), ...lines(10, 5, 3600)]);
    await expectRefused(
      ['archive', 'build', '--community', community, '--messages', more, '--out', outDir],
      /data: truncated/,
      dir,
    );
    await expectVerificationFailed(folder, /verification failed: .*data/, dir);
    expect(file).toBeTruthy();
  });

  test('an index that does not decode', async () => {
    const { folder, id, outDir } = await prepared();
    writeFileSync(join(folder, 'index'), Buffer.from([0x0a, 0xff, 0x01]));
    await expectVerificationFailed(folder, /index: index does not decode/, dir);
    // Without an index at all it is not a community folder: bad input.
    const empty = join(dir, 'out2', community);
    mkdirSync(empty, { recursive: true });
    await expectRefused(['archive', 'inspect', empty], /index: no such file \(not a community folder\)/, dir);
    await expectRefused(['archive', 'extract', folder, id], /index does not decode/, dir);
    const more = writeMessages('more.jsonl', lines(10, 5, 3600));
    await expectRefused(
      ['archive', 'build', '--community', community, '--messages', more, '--out', outDir],
      /index does not decode/,
      dir,
    );
  });

  test('a wrong community id', async () => {
    const { outDir, folder, file } = await prepared();
    await expectRefused(
      ['archive', 'build', '--community', '0x1234', '--messages', file, '--out', outDir],
      /--community: wrong community id/,
      dir,
    );
    // Right shape, not a curve point.
    await expectRefused(
      ['archive', 'build', '--community', `0x02${'f'.repeat(64)}`, '--messages', file, '--out', outDir],
      /not a point/,
      dir,
    );
    const elsewhere = join(dir, 'not-a-community');
    mkdirSync(elsewhere);
    await expectRefused(['archive', 'inspect', elsewhere], /wrong community id/, dir);
    // A folder named after another community, holding this one's torrent.
    const alias = join(outDir, other);
    mkdirSync(alias);
    writeFileSync(join(outDir, `${other}.torrent`), readFileSync(join(outDir, `${community}.torrent`)));
    await expectRefused(['archive', 'inspect', alias], /wrong community id: the torrent is named/, dir);
    expect(folder).toBeTruthy();
  });

  test('a missing messages file and bad numeric flags', async () => {
    const outDir = join(dir, 'out');
    await expectRefused(
      ['archive', 'build', '--community', community, '--messages', join(dir, 'none.jsonl'), '--out', outDir],
      /none\.jsonl: cannot read/,
      dir,
    );
    const f = writeMessages('m.jsonl', lines(0, 2, 60));
    await expectRefused(
      ['archive', 'build', '--community', community, '--messages', f, '--out', outDir, '--piece-length', '0'],
      /--piece-length/,
      dir,
    );
    await expectRefused(
      ['archive', 'build', '--community', community, '--messages', f, '--out', outDir, '--start', 'soon'],
      /--start/,
      dir,
    );
  });
});

describe('the real binary', () => {
  test('node bin/archivist.js archive build, and a bad line with exit 2 and no stack trace', () => {
    const outDir = join(dir, 'out');
    const f = writeMessages('m.jsonl', lines(0, 5, 60));
    const ok = spawnSync(
      process.execPath,
      ['bin/archivist.js', 'archive', 'build', '--community', community, '--messages', f, '--out', outDir],
      {
        encoding: 'utf8',
      },
    );
    expect(ok.status).toBe(0);
    const r = JSON.parse(ok.stdout) as BuildOutput;
    expect(r.infoHash).toBe(infoHashFromFiles(join(outDir, community), community, 102_400));
    appendFileSync(f, '{"timestamp": -1}\n');
    const bad = spawnSync(
      process.execPath,
      ['bin/archivist.js', 'archive', 'build', '--community', community, '--messages', f, '--out', outDir],
      {
        encoding: 'utf8',
      },
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toEqual([
      `archivist: ${f}:6: field "timestamp" must be a non-negative integer (unix seconds)`,
    ]);
    expect(bad.stdout).toBe('');
  });
});
