// `archivist node` with a content store (the `content` section, host/content-config.ts): the
// store starts with the node and serves what its folder holds to another store peered to it,
// its addresses are printed in `node.listening`, the torrent client is not started when the
// node runs the content-addressed backend alone, and SIGTERM stops it all (exit 0). A store
// that cannot run as configured (its port in use, its host not of this machine, its folder a
// file, missing) is one line naming the file and the field, exit 2.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HeliaContentStore } from '../adapters/real/helia-content-store.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { NodeProcess, run } from './fixtures/archivist-process.ts';

const root = mkdtempSync(join(tmpdir(), 'archivist-node-content-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const id = communityIdOf(generateCommunityKey(new Uint8Array(32).fill(31)));

function config(name: string, body: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'node.json');
  writeFileSync(
    file,
    JSON.stringify({
      nodeId: name,
      dataDir: 'data',
      torrentDir: 'torrents',
      database: 'node.db',
      communities: [{ id, chats: ['general'] }],
      ...body,
    }),
  );
  return file;
}

const oneLine = (r: { code: number | null; stderr: string }, pattern: RegExp) => {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
};

describe('archivist node with a content store', () => {
  it('serves what its store folder holds to a peered store, without a torrent client; stops on SIGTERM', async () => {
    // Content put in the node's folder before it starts: the store outlives a restart.
    const storeDir = join(root, 'serving', 'content');
    const before = new HeliaContentStore({ dir: storeDir });
    await before.start();
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    const cid = await before.upload(bytes);
    await before.stop();

    const proc = new NodeProcess(config('serving', { archiveBackends: 'cid', content: { dir: 'content' } }));
    children.add(proc.child);
    const listening = await proc.waitFor((l) => l.type === 'node.listening', 'node listening');
    await proc.waitFor((l) => l.type === 'node.started', 'node started');
    expect(listening.torrentPort).toBeNull();
    const addrs = listening.contentMultiaddrs as string[];
    expect(addrs.length).toBeGreaterThan(0);
    expect(addrs[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/);

    const member = new HeliaContentStore({ peers: [addrs[0]!] });
    await member.start();
    try {
      const got = await member.fetch(cid, { signal: AbortSignal.timeout(15_000) });
      expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
      expect(member.stats().bytesDown).toBeGreaterThanOrEqual(bytes.length);
    } finally {
      await member.stop();
    }
    expect(await proc.stop('SIGTERM', 10_000)).toBe(0);
    expect(proc.lines.at(-1)?.type).toBe('node.stopped');
    expect(proc.stderr).toBe('');

    // Both backends: the torrent client runs beside the store.
    const both = new NodeProcess(config('both', { archiveBackends: 'both', content: { dir: 'content' } }));
    children.add(both.child);
    const l2 = await both.waitFor((l) => l.type === 'node.listening', 'node listening (both)');
    expect(l2.torrentPort).toEqual(expect.any(Number));
    expect((l2.contentMultiaddrs as string[]).length).toBeGreaterThan(0);
    await both.waitFor((l) => l.type === 'node.started', 'node started (both)');
    expect(await both.stop('SIGTERM', 10_000)).toBe(0);
  }, 60_000);

  it('names the file and field of a content store that cannot run, one line, exit 2', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    const aFile = join(root, 'a-file');
    writeFileSync(aFile, 'not a folder');
    try {
      const [portBusy, dirIsFile, missing, badPeer, notHere] = await Promise.all([
        run([
          'node',
          '--config',
          config('content-busy', { archiveBackends: 'cid', content: { dir: 'c', port } }),
        ]),
        run([
          'node',
          '--config',
          config('content-file', { archiveBackends: 'both', content: { dir: aFile } }),
        ]),
        run(['node', '--config', config('content-missing', { archiveBackends: 'cid' })]),
        run([
          'node',
          '--config',
          config('content-peer', {
            archiveBackends: 'cid',
            content: { dir: 'c', peers: ['/ip4/127.0.0.1/tcp/4'] },
          }),
        ]),
        run([
          'node',
          '--config',
          config('content-host', { archiveBackends: 'cid', content: { dir: 'c', host: '192.0.2.1' } }),
        ]),
      ]);
      oneLine(
        portBusy,
        new RegExp(
          `^archivist: .*content-busy.node\\.json: content\\.port: cannot listen on 127\\.0\\.0\\.1:${port}: it is in use by another process \\(EADDRINUSE\\)`,
        ),
      );
      oneLine(
        dirIsFile,
        /^archivist: .*content-file.node\.json: content\.dir: cannot use .*a-file: .*ENOTDIR/,
      );
      oneLine(
        missing,
        /^archivist: .*content-missing.node\.json: content: required with archiveBackends cid/,
      );
      oneLine(
        badPeer,
        /^archivist: .*content-peer.node\.json: content\.peers\[0\]: "\/ip4\/127\.0\.0\.1\/tcp\/4" is not a multiaddr .*no \/p2p\/<peer id>/,
      );
      oneLine(
        notHere,
        /^archivist: .*content-host.node\.json: content\.host: cannot listen on 192\.0\.2\.1:0: it is not an address of this machine \(EADDRNOTAVAIL\)/,
      );
    } finally {
      busy.close();
    }
  }, 60_000);
});
