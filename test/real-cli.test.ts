// `archivist seed` and `archivist fetch` as separate processes on 127.0.0.1: JSON output,
// verified downloads (index only, then everything), clean exits on SIGTERM and on their own,
// and one-line errors for bad input.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { SqliteStorage } from '../adapters/real/sqlite-storage.ts';
import { archiveIdOf, createArchiveRound, parseTorrentFile, readIndex } from '../archive/index.ts';
import { encodeWakuMessageArchiveIndex } from '../proto/codec.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';
import { BIN, run, startSeeder, stopped } from './fixtures/archivist-process.ts';

const P = 102_400;
const NAME = communityIdOf(generateCommunityKey(new Uint8Array(32).fill(3)));
let root: string;
let data: Uint8Array;
let index: Uint8Array;
let ownerInfoHash: string;
let pieceCount: number;

beforeAll(() => {
  // A real owner round: 3 weeks of messages, archives in <owner>/data/<id>, torrent in <owner>/torrents.
  root = mkdtempSync(join(tmpdir(), 'archivist-cli-'));
  const fs = new NodeFileSystem();
  const now = Math.floor(Date.now() / 1000);
  const topic = chatTopic('general');
  const messages = Array.from({ length: 60 }, (_, i) => ({
    sig: Uint8Array.of(i),
    timestamp: now - 21 * 86_400 + i * 30_000,
    topic,
    payload: new Uint8Array(9000).fill(i),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill(i + 1),
    thirdPartyId: '',
  }));
  createArchiveRound(fs, {
    dataDir: join(root, 'owner', 'data'),
    torrentDir: join(root, 'owner', 'torrents'),
    communityId: NAME,
    topics: [topic],
    messages,
    start: messages[0]!.timestamp,
    end: now,
  });
  data = fs.read(join(root, 'owner', 'data', NAME, 'data'));
  index = fs.read(join(root, 'owner', 'data', NAME, 'index'));
  const parsed = parseTorrentFile(fs.read(join(root, 'owner', 'torrents', `${NAME}.torrent`)));
  ownerInfoHash = parsed.infoHash;
  pieceCount = parsed.pieceHashes.length;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('archivist seed / fetch', () => {
  it('seeds, serves an index-only fetch then a full verified fetch, and exits on SIGTERM', async () => {
    // No .torrent next to the folder: seed rebuilds it from data + index, same info-hash.
    const { child, line } = await startSeeder([join(root, 'owner', 'data', NAME)]);
    try {
      expect(line.infoHash).toBe(ownerInfoHash);
      expect(line.magnet).toBe(`magnet:?xt=urn:btih:${line.infoHash}&dn=${NAME}&x.pe=127.0.0.1:${line.port}`);
      const peer = `127.0.0.1:${line.port}`;

      const first = await run([
        'fetch',
        line.magnet,
        '--peer',
        peer,
        '--out',
        join(root, 'm1'),
        '--index-only',
      ]);
      expect(first.code).toBe(0);
      const r1 = JSON.parse(first.stdout);
      expect(r1).toMatchObject({
        ok: true,
        infoHash: line.infoHash,
        name: NAME,
        pieces: pieceCount,
        archives: 3,
      });
      expect(readFileSync(join(root, 'm1', NAME, 'index'))).toEqual(Buffer.from(index));
      expect(r1.bytesDown).toBeLessThan(3 * P);

      // A magnet announced for another community is refused before anything is written.
      const other = `0x03${'e'.repeat(64)}`;
      const plain = line.magnet.replace(/&dn=[^&]*/, '');
      const wrong = await run([
        'fetch',
        plain,
        '--peer',
        peer,
        '--out',
        join(root, 'm3'),
        '--community',
        other,
      ]);
      expect(wrong.code).toBe(1);
      expect(JSON.parse(wrong.stdout).error).toMatch(
        `torrent folder name "${NAME}" does not match the expected "${other}"`,
      );
      expect(existsSync(join(root, 'm3', NAME))).toBe(false);

      // The peer from the magnet's x.pe alone, as `seed` prints it.
      const full = await run(['fetch', line.magnet, '--out', join(root, 'm1'), '--community', NAME]);
      expect(full.code).toBe(0);
      expect(JSON.parse(full.stdout)).toMatchObject({
        ok: true,
        peers: [peer],
        piecesFetched: pieceCount,
        archives: 3,
      });
      expect(readFileSync(join(root, 'm1', NAME, 'data'))).toEqual(Buffer.from(data));
    } finally {
      expect(await stopped(child, 'SIGTERM')).toBe(0);
    }
  });

  it('refuses a fetched index whose archive points past the end of data', async () => {
    const fs = new NodeFileSystem();
    const folder = join(root, 'forged', NAME);
    fs.mkdirp(folder);
    fs.writeAtomic(join(folder, 'data'), data);
    const idx = readIndex(fs, join(root, 'owner', 'data', NAME));
    const [id, last] = [...idx.archives].sort((a, b) => b[1].offset - a[1].offset)[0]!;
    idx.archives.delete(id);
    const forged = { ...last, offset: last.offset + 40 * P };
    idx.archives.set(archiveIdOf(forged), forged);
    writeFileSync(join(folder, 'index'), encodeWakuMessageArchiveIndex(idx));
    const { child, line } = await startSeeder([folder]);
    try {
      const r = await run([
        'fetch',
        line.magnet,
        '--peer',
        `127.0.0.1:${line.port}`,
        '--out',
        join(root, 'm4'),
        '--index-only',
      ]);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).error).toMatch(
        new RegExp(
          `index entry ${archiveIdOf(forged)} spans bytes \\[\\d+, \\d+\\) past the end of data \\(${data.length} bytes\\)`,
        ),
      );
    } finally {
      expect(await stopped(child, 'SIGTERM')).toBe(0);
    }
  });

  it('exits cleanly on SIGINT too', async () => {
    const { child } = await startSeeder([
      join(root, 'owner', 'data', NAME),
      '--torrent',
      join(root, 'owner', 'torrents', `${NAME}.torrent`),
      '--port',
      '0',
    ]);
    expect(await stopped(child, 'SIGINT')).toBe(0);
  });

  it("fails at once when no peer can be used: the magnet's own is a failed fetch (1), a --peer is bad input (2)", async () => {
    // Each run below would wait for fetch's 60 s timeout if fetch did not give up at once,
    // and the runner fails any run longer than 20 s.
    // x.pe only, nobody listening there: a JSON failure without waiting for the timeout.
    const ih = '1'.repeat(40);
    const xpe = await run([
      'fetch',
      `magnet:?xt=urn:btih:${ih}&dn=${NAME}&x.pe=127.0.0.1:9`,
      '--out',
      join(root, 'm2'),
    ]);
    expect(xpe.code).toBe(1);
    expect(JSON.parse(xpe.stdout)).toMatchObject({
      ok: false,
      peers: ['127.0.0.1:9'],
      error: 'no peer could be used: 127.0.0.1:9: connection refused',
    });
    expect(existsSync(join(root, 'm2', NAME))).toBe(false);
    // A --peer nobody listens on, and one that seeds another torrent: refused, one line each.
    const { child, line } = await startSeeder([join(root, 'owner', 'data', NAME)]);
    try {
      const flags = await run([
        'fetch',
        `magnet:?xt=urn:btih:${ih}&dn=${NAME}`,
        '--peer',
        '127.0.0.1:9',
        '--peer',
        `127.0.0.1:${line.port}`,
        '--out',
        join(root, 'm2'),
      ]);
      expect(flags.code).toBe(2);
      expect(flags.stderr.trimEnd().split('\n')).toEqual([
        'archivist: --peer: 127.0.0.1:9: connection refused',
        `archivist: --peer: 127.0.0.1:${line.port}: closed the connection before a BitTorrent handshake`,
      ]);
      // A wrong --peer next to a magnet peer that works: the fetch goes through.
      const mixed = await run([
        'fetch',
        line.magnet,
        '--peer',
        '127.0.0.1:9',
        '--out',
        join(root, 'm5'),
        '--index-only',
      ]);
      expect(mixed.code).toBe(0);
      expect(JSON.parse(mixed.stdout)).toMatchObject({
        ok: true,
        peers: [`127.0.0.1:${line.port}`, '127.0.0.1:9'],
      });
    } finally {
      expect(await stopped(child, 'SIGTERM')).toBe(0);
    }
    // No peer at all.
    const none = await run(['fetch', `magnet:?xt=urn:btih:${ih}`, '--out', join(root, 'm2')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      'archivist: magnet: no peer to fetch from (the link has no x.pe=host:port); give one with --peer host:port\n',
    );
  });

  it('refuses bad input with one line and exit 2', async () => {
    const cfg = join(root, 'bad-node.yaml');
    writeFileSync(cfg, 'dataDir: d\ntorrentDir: t\ndatabase: n.db\ncommunities:\n  - id: xyz\n');
    const magnet = `magnet:?xt=urn:btih:${'1'.repeat(40)}`;
    const [noFolder, badPeer, badMagnet, badPort, badConfig] = await Promise.all([
      run(['seed', join(root, 'nope')]),
      run(['fetch', magnet, '--peer', 'localhost', '--out', root]),
      run(['fetch', 'magnet:?dn=x', '--peer', '127.0.0.1:1', '--out', root]),
      run(['seed', join(root, 'owner', 'data', NAME), '--port', '70000']),
      run(['node', '--config', cfg]),
    ]);
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr).toMatch(/^archivist: .*nope: no such community folder\n$/);
    expect(badPeer.code).toBe(2);
    expect(badPeer.stderr).toMatch(/--peer: localhost is not host:port/);
    expect(badMagnet.code).toBe(2);
    expect(badMagnet.stderr).toMatch(/magnet: magnet link has no BitTorrent info-hash/);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/--port: 70000 is not a TCP port/);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/bad-node\.yaml: communities\[0\]\.id: expected 66 hex digits/);
  });

  it('names the config file and field of a node that cannot run as configured, one line each, exit 2', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    const config = (name: string, body: Record<string, unknown>) => {
      const file = join(root, `${name}.json`);
      writeFileSync(
        file,
        JSON.stringify({ dataDir: 'd', torrentDir: 't', database: join(root, `${name}.db`), ...body }),
      );
      return file;
    };
    try {
      const [badPeer, twoProblems, relayPortBusy, noRelay] = await Promise.all([
        run(['node', '--config', config('bad-peer', { messaging: { peers: ['127.0.0.1:4000'] } })]),
        run(['node', '--config', config('two-problems', { messaging: { port: -1 }, torrnt: {} })]),
        run(['node', '--config', config('relay-busy', { messaging: { port } })]),
        run([
          'node',
          '--config',
          config('no-relay', {
            messaging: {
              peers: ['/ip4/127.0.0.1/tcp/9/p2p/12D3KooWGRUVh4fHdbnxEVpAUEkvLtE8WjZVdrzrjqYBFoNhJ7cK'],
            },
          }),
        ]),
      ]);
      const oneLine = (r: { code: number | null; stderr: string }, pattern: RegExp) => {
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      };
      oneLine(
        badPeer,
        /^archivist: .*bad-peer\.json: messaging\.peers\[0\]: "127\.0\.0\.1:4000" is not a multiaddr/,
      );
      oneLine(
        relayPortBusy,
        new RegExp(
          `^archivist: .*relay-busy\\.json: messaging\\.port: cannot listen on 127\\.0\\.0\\.1:${port}: it is in use by another process \\(EADDRINUSE\\)`,
        ),
      );
      // A busy torrent port does not stop the node (the reference app runs on with the
      // archive feature off): one warning line naming the field, then it serves until SIGTERM.
      const node = spawn(
        process.execPath,
        [BIN, 'node', '--config', config('torrent-busy', { torrent: { port } })],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const warned = await new Promise<string>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no warning within 15 s: ${err}`)), 15_000);
        node.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          if (err.includes('\n')) {
            clearTimeout(timer);
            resolve(err);
          }
        });
        node.on('exit', (code) => reject(new Error(`node exited with ${code}: ${err}`)));
      });
      expect(warned).toMatch(
        new RegExp(
          `^archivist: .*torrent-busy\\.json: torrent\\.port: cannot listen on 127\\.0\\.0\\.1:${port}: it is in use`,
        ),
      );
      expect(warned).not.toMatch(/\n\s+at /);
      expect(await stopped(node, 'SIGTERM')).toBe(0);
      oneLine(
        noRelay,
        /^archivist: .*no-relay\.json: messaging\.peers\[0\]: cannot reach \/ip4\/127\.0\.0\.1\/tcp\/9\//,
      );
      expect(twoProblems.code).toBe(2);
      const lines = twoProblems.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines.every((l) => /^archivist: .*two-problems\.json: /.test(l))).toBe(true);
      expect(twoProblems.stderr).toMatch(/messaging\.port: /);
      expect(twoProblems.stderr).toMatch(/torrnt: unknown field/);

      const seedBusy = await run(['seed', join(root, 'owner', 'data', NAME), '--port', String(port)]);
      oneLine(
        seedBusy,
        new RegExp(`^archivist: --port: cannot listen on 127\\.0\\.0\\.1:${port}: it is in use`),
      );
    } finally {
      busy.close();
    }
  });

  it('refuses a damaged, foreign or newer database with one line and exit 2, touching nothing', async () => {
    // A real node database with some messages, then four ways it can be wrong.
    const good = join(root, 'good.db');
    const db = new SqliteStorage(good);
    db.saveMessages(
      Array.from({ length: 200 }, (_, i) => ({
        sig: Uint8Array.of(i),
        timestamp: 1_700_000_000 + i,
        topic: chatTopic('general'),
        payload: new Uint8Array(2000).fill(i),
        padding: new Uint8Array(0),
        hash: new Uint8Array(32).fill(i),
        thirdPartyId: '',
      })),
    );
    db.close();
    const bytes = readFileSync(good);
    const pageSize = bytes.readUInt16BE(16);
    const cases: Record<string, { bytes: Uint8Array; error: RegExp }> = {
      foreign: { bytes: Buffer.alloc(3 * pageSize, 'not a database '), error: /not an SQLite database/ },
      truncated: { bytes: bytes.subarray(0, Math.floor(bytes.length / 2)), error: /truncated/ },
      corrupted: {
        bytes: Buffer.concat([bytes.subarray(0, pageSize), Buffer.alloc(bytes.length - pageSize, 0xa5)]),
        error: /corrupt/,
      },
      newer: { bytes: Buffer.from(bytes), error: /schema version 99 is newer than this archivist supports/ },
    };
    cases.newer!.bytes.set([0, 0, 0, 99], 60); // PRAGMA user_version lives at offset 60 of the header
    const runs = Object.entries(cases).map(async ([name, c]) => {
      const dir = join(root, `db-${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'node.db'), c.bytes);
      writeFileSync(
        join(dir, 'node.yaml'),
        'dataDir: data\ntorrentDir: torrents\ndatabase: node.db\ncommunities: []\n',
      );
      const r = await run(['node', '--config', join(dir, 'node.yaml')]);
      return { name, dir, c, r };
    });
    for (const { name, dir, c, r } of await Promise.all(runs)) {
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr, name).toMatch(/^archivist: [^\n]*\n$/);
      expect(r.stderr, name).toContain(join(dir, 'node.db'));
      expect(r.stderr, name).toMatch(c.error);
      // Nothing stored was touched: the same bytes, no journal beside them, no folders made.
      expect(Buffer.compare(readFileSync(join(dir, 'node.db')), c.bytes), name).toBe(0);
      expect(readdirSync(dir).sort(), name).toEqual(['node.db', 'node.yaml']);
    }
  });
});
