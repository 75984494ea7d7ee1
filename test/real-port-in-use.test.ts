// `archivist node` whose torrent port is already taken (a reported failure of the reference
// client): the node does not crash. It prints `torrentPort: null`, reports the failure as
// `archive.torrentClientFailed`, runs on with the archive protocol disabled and stops
// cleanly on SIGTERM. The simulated counterpart is scenarios/torrent-port-in-use.yaml.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { BIN, stopped } from './fixtures/archivist-process.ts';

const root = mkdtempSync(join(tmpdir(), 'archivist-port-'));
let child: ChildProcess | undefined;
let blocker: Server | undefined;
afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  blocker?.close();
  rmSync(root, { recursive: true, force: true });
});

type Line = Record<string, unknown> & { type: string };

describe('archivist node with its torrent port in use', () => {
  it('reports the failure and runs on without the archive protocol', async () => {
    const taken = createServer();
    blocker = taken;
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const id = communityIdOf(generateCommunityKey(new Uint8Array(32).fill(7)));
    const config = join(root, 'node.json');
    writeFileSync(
      config,
      JSON.stringify({
        nodeId: 'm1',
        dataDir: 'data',
        torrentDir: 'torrents',
        database: 'node.db',
        torrent: { port },
        communities: [{ id, chats: ['general'] }],
      }),
    );
    const proc = spawn(process.execPath, [BIN, 'node', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    const lines: Line[] = [];
    let stderr = '';
    proc.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // node.started, and the machines' own start of the client failing (it may come first)
    const started = new Promise<void>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(
        () => reject(new Error(`no node.started and torrentClientFailed; stderr: ${stderr}`)),
        20_000,
      );
      proc.stdout!.on('data', (c: Buffer) => {
        buf += c.toString();
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        for (const p of parts) {
          if (!p.startsWith('{')) continue;
          const line = JSON.parse(p) as Line;
          lines.push(line);
          const types = lines.map((l) => l.type);
          if (types.includes('node.started') && types.includes('archive.torrentClientFailed')) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      proc.once('exit', (code) =>
        reject(new Error(`exited with ${code} before starting; stderr: ${stderr}`)),
      );
    });
    await started;
    expect(lines.find((l) => l.type === 'node.listening')).toMatchObject({ torrentPort: null });
    const failed = lines.find((l) => l.type === 'archive.torrentClientFailed');
    expect(failed?.error).toContain(`127.0.0.1:${port}`);
    expect(lines.map((l) => l.type)).not.toContain('community.historyArchivesProtocolEnabled');
    // still running a moment later
    await new Promise((r) => setTimeout(r, 500));
    expect(proc.exitCode).toBeNull();
    expect(await stopped(proc, 'SIGTERM', 10_000)).toBe(0);
    expect(lines.at(-1)?.type).toBe('node.stopped');
    expect(lines.filter((l) => l.type === 'archive.torrentClientFailed')).toHaveLength(1);
    // one line for the host, naming the field to change; no stack trace
    expect(stderr).toMatch(
      /^archivist: .*: torrent\.port: cannot listen on 127\.0\.0\.1:\d+: it is in use by another process \(EADDRINUSE\)\n$/,
    );
  }, 30_000);
});
