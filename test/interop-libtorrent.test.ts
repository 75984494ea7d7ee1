// Interop with software no one here wrote: Debian's python3-libtorrent downloads a
// community torrent from archivist's BitTorrent seeder over 127.0.0.1, and archivist
// downloads one that libtorrent seeds. Both sides must end with identical bytes.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitTorrentClient } from '../adapters/real/bittorrent-client.ts';
import { writeFolderTorrent } from './fixtures/real-torrent.ts';

const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = join(import.meta.dirname, 'fixtures/real-libtorrent-peer.py');
const P = 102_400;
const NAME = '0x03bb00000000000000000000000000000000000000000000000000000000000002';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'archivist-interop-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function payload(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Runs the libtorrent peer and resolves with its first JSON line. */
function startPeer(
  args: string[],
  timeoutMs: number,
): { child: ChildProcess; first: Promise<Record<string, unknown>> } {
  const child = spawn(PYTHON, [PEER_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`libtorrent peer timed out; stderr: ${stderr}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(stdout.slice(0, nl)) as Record<string, unknown>);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`libtorrent peer exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { child, first };
}

async function stopPeer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

describe('interop with python3-libtorrent', () => {
  it('libtorrent downloads a community torrent from archivist and gets identical bytes', async () => {
    const data = payload(P * 20, 11);
    const index = payload(1234, 12);
    const seedDir = join(root, 'a-seed');
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, index);
    const seeder = new BitTorrentClient();
    await seeder.start();
    try {
      expect(await seeder.seed(torrent, seedDir)).toBe(infoHash);
      const outDir = join(root, 'lt-out');
      const magnet = `magnet:?xt=urn:btih:${infoHash}&dn=${NAME}`;
      const { child, first } = startPeer(['fetch', magnet, outDir, `127.0.0.1:${seeder.port}`, '20'], 25_000);
      const result = await first;
      await stopPeer(child);
      expect(result).toMatchObject({ ok: true, infoHash });
      expect(readFileSync(join(outDir, NAME, 'data'))).toEqual(Buffer.from(data));
      expect(readFileSync(join(outDir, NAME, 'index'))).toEqual(Buffer.from(index));
      expect(seeder.stats().bytesUp).toBeGreaterThanOrEqual(data.length + index.length);
    } finally {
      await seeder.stop();
    }
  });

  it('archivist downloads, index first then the pieces, from libtorrent seeding the same torrent', async () => {
    const data = payload(P * 16, 21);
    const index = payload(777, 22);
    const ltDir = join(root, 'lt-seed');
    const { torrent, infoHash } = writeFolderTorrent(ltDir, NAME, data, index);
    const torrentPath = join(root, 'lt.torrent');
    writeFileSync(torrentPath, torrent);
    const { child, first } = startPeer(['seed', torrentPath, ltDir], 20_000);
    const member = new BitTorrentClient();
    try {
      const ready = await first;
      expect(ready).toMatchObject({ ok: true, infoHash });
      await member.start();
      const outDir = join(root, 'wt-out');
      const dl = member.add(
        `magnet:?xt=urn:btih:${infoHash}&dn=${NAME}&x.pe=127.0.0.1:${ready.port}`,
        outDir,
      );
      const meta = await dl.metadata(AbortSignal.timeout(15_000));
      expect(meta.pieceCount).toBe(17);
      await dl.downloadFile('index', AbortSignal.timeout(15_000));
      expect(readFileSync(join(outDir, NAME, 'index'))).toEqual(Buffer.from(index));
      await dl.downloadPieces(0, meta.pieceCount, AbortSignal.timeout(15_000));
      expect(readFileSync(join(outDir, NAME, 'data'))).toEqual(Buffer.from(data));
    } finally {
      await member.stop();
      await stopPeer(child);
    }
  });
});
