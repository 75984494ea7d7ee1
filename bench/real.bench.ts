// npm run bench:real — a member downloading a 50 MB community torrent from an archivist
// seeder over 127.0.0.1, next to python3-libtorrent downloading from the same seeder in the
// same run, and next to a member fetching the same community over the content-addressed
// backend (Helia: `archivist seed --backend cid` of the same folder, `archivist fetch
// --backend cid`). Each tool runs as its own process and reports its own download time;
// each seeder is one process. Prints per-run figures, medians, the throughput ratio
// archivist/libtorrent, and the ratio cid/torrent (the torrent figure of the same run as
// the baseline). Each backend's throughput counts its own payload: the torrent's `data` +
// `index` (archives padded to pieces), the round's archives + index (unpadded).
//
//   BENCH_MB=50 BENCH_RUNS=5 npm run bench:real

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { createArchiveRound } from '../archive/index.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';

const MB = Number(process.env.BENCH_MB ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const P = 102_400;
const ROOT_DIR = join(import.meta.dirname, '..');
const BIN = join(ROOT_DIR, 'bin', 'archivist.js');
const LT = join(ROOT_DIR, 'test', 'fixtures', 'real-libtorrent-peer.py');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runJson(cmd: string, args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line)
        return reject(new Error(`${args[1] ?? cmd} exited ${code} without a result: ${err.slice(0, 500)}`));
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
    child.stdin!.end();
  });
}

function startProcess<L>(args: string[]): Promise<{ child: ChildProcess; line: L }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve({ child, line: JSON.parse(out.split('\n')[0]!) as L });
    });
    child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

async function startSeeder(
  folder: string,
  torrentFile: string,
): Promise<{ child: ChildProcess; port: number; magnet: string }> {
  const { child, line } = await startProcess<{ port: number; magnet: string }>([
    'seed',
    folder,
    '--torrent',
    torrentFile,
  ]);
  return { child, ...line };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function sha1File(path: string): string {
  return createHash('sha1').update(readFileSync(path)).digest('hex');
}

const root = mkdtempSync(join(tmpdir(), 'archivist-bench-real-'));
let seeder: ChildProcess | undefined;
let cidSeeder: ChildProcess | undefined;
try {
  // A real community of MB megabytes: five weeks of messages archived by the archive module.
  const fs = new NodeFileSystem();
  const key = generateCommunityKey(new Uint8Array(32).fill(50));
  const NAME = communityIdOf(key);
  const topic = chatTopic('general');
  const now = Math.floor(Date.now() / 1000);
  const size = 100_000;
  const count = Math.ceil((MB * 1_000_000) / size);
  const messages = Array.from({ length: count }, (_, i) => {
    const payload = new Uint8Array(size);
    for (let o = 0; o < size; o += 64)
      payload.set(
        createHash('sha512')
          .update(`${i}/${o}`)
          .digest()
          .subarray(0, Math.min(64, size - o)),
        o,
      );
    return {
      sig: new Uint8Array(65).fill(1),
      timestamp: now - 35 * 86_400 + Math.floor((i * 35 * 86_400) / count),
      topic,
      payload,
      padding: new Uint8Array(0),
      hash: new Uint8Array(createHash('sha256').update(`m${i}`).digest()),
      thirdPartyId: '',
    };
  });
  const ownerDir = join(root, 'owner');
  const round = createArchiveRound(fs, {
    dataDir: join(ownerDir, 'data'),
    torrentDir: join(ownerDir, 'torrents'),
    communityId: NAME,
    topics: [topic],
    messages,
    start: messages[0]!.timestamp,
    end: now,
  });
  const folder = join(ownerDir, 'data', NAME);
  const torrentFile = join(ownerDir, 'torrents', `${NAME}.torrent`);
  const dataBytes = fs.size(join(folder, 'data'));
  const want = sha1File(join(folder, 'data'));
  const s = await startSeeder(folder, torrentFile);
  seeder = s.child;
  const peer = `127.0.0.1:${s.port}`;
  const plainMagnet = s.magnet.replace(/&x\.pe=[^&]*/, '');
  const indexBytes = fs.size(join(folder, 'index'));
  const cs = await startProcess<{ indexCid: string; bytes: number; multiaddrs: string[] }>([
    'seed',
    '--backend',
    'cid',
    folder,
  ]);
  cidSeeder = cs.child;
  const ours: number[] = [];
  const theirs: number[] = [];
  const cid: number[] = [];
  let cidPayload = 0;
  console.log(
    `bench:real  community ${NAME.slice(0, 12)}…: ${round.archives.length} archives, data ${(dataBytes / 1e6).toFixed(1)} MB, piece ${P} B, ${RUNS} runs; seeders: archivist seed (its own BitTorrent client) on ${peer}, archivist seed --backend cid (Helia) on ${cs.line.multiaddrs[0]}`,
  );
  for (let run = 0; run < RUNS; run++) {
    const order = [
      ['archivist', 'libtorrent', 'cid'],
      ['cid', 'libtorrent', 'archivist'],
      ['libtorrent', 'cid', 'archivist'],
    ][run % 3]!;
    for (const who of order) {
      const out = join(root, `${who}-${run}`);
      if (who === 'cid') {
        const r = await runJson(
          process.execPath,
          [
            BIN,
            'fetch',
            '--backend',
            'cid',
            cs.line.indexCid,
            '--peer',
            cs.line.multiaddrs[0]!,
            '--out',
            out,
            '--timeout',
            '120',
          ],
          150_000,
        );
        if (!r.ok) throw new Error(`archivist fetch --backend cid failed: ${r.error}`);
        cid.push(Number(r.downloadSeconds));
        cidPayload = Number(r.bytes) + (fs.size(join(out, cs.line.indexCid, 'index')) ?? 0);
        rmSync(out, { recursive: true, force: true });
        continue;
      }
      if (who === 'archivist') {
        const r = await runJson(
          process.execPath,
          [BIN, 'fetch', s.magnet, '--peer', peer, '--out', out, '--timeout', '120'],
          150_000,
        );
        if (!r.ok) throw new Error(`archivist fetch failed: ${r.error}`);
        ours.push(Number(r.downloadSeconds));
      } else {
        const r = await runJson('/usr/bin/python3', [LT, 'fetch', plainMagnet, out, peer, '120'], 150_000);
        if (!r.ok) throw new Error(`libtorrent fetch failed: ${JSON.stringify(r)}`);
        theirs.push(Number(r.seconds));
      }
      if (sha1File(join(out, NAME, 'data')) !== want)
        throw new Error(`${who} run ${run}: downloaded data differs`);
      rmSync(out, { recursive: true, force: true });
    }
    const mbps = (t: number) => ((dataBytes + indexBytes) / 1e6 / t).toFixed(1);
    const cidMbps = (t: number) => (cidPayload / 1e6 / t).toFixed(1);
    console.log(
      `run ${run + 1}: archivist ${ours.at(-1)!.toFixed(3)} s (${mbps(ours.at(-1)!)} MB/s)   libtorrent ${theirs.at(-1)!.toFixed(3)} s (${mbps(theirs.at(-1)!)} MB/s)   cid ${cid.at(-1)!.toFixed(3)} s (${cidMbps(cid.at(-1)!)} MB/s)`,
    );
  }
  const mo = median(ours);
  const mt = median(theirs);
  const ratio = mt / mo;
  console.log(
    `median: archivist ${mo.toFixed(3)} s = ${(dataBytes / 1e6 / mo).toFixed(1)} MB/s; libtorrent ${mt.toFixed(3)} s = ${(dataBytes / 1e6 / mt).toFixed(1)} MB/s`,
  );
  console.log(
    `ratio archivist/libtorrent throughput: ${ratio.toFixed(2)} (target >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'})`,
  );
  const mc = median(cid);
  const torrentMBps = (dataBytes + indexBytes) / 1e6 / mo;
  const cidMBps = cidPayload / 1e6 / mc;
  console.log(
    `median cid (Helia, bitswap): ${mc.toFixed(3)} s = ${cidMBps.toFixed(1)} MB/s of ${(cidPayload / 1e6).toFixed(1)} MB (archives + index); torrent (BitTorrent client) baseline of the same run: ${torrentMBps.toFixed(1)} MB/s`,
  );
  console.log(`ratio cid/torrent throughput: ${(cidMBps / torrentMBps).toFixed(2)}`);
} finally {
  await stopChild(seeder);
  await stopChild(cidSeeder);
  rmSync(root, { recursive: true, force: true });
}
