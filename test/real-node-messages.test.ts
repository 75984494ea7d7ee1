// Feeding chat messages to a real owner: `archivist node --messages <file>` stores a JSON-lines
// file before the machines start, so the owner's first round archives it; `--messages -`
// stores what arrives on standard input while the node runs, and the next round archives
// it; a bad line is refused (file: exit 2 before anything starts; stdin: reported, skipped).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { BIN, run } from './fixtures/archivist-process.ts';

const DAY_S = 86_400;
const root = mkdtempSync(join(tmpdir(), 'archivist-feed-'));
const key = generateCommunityKey(new Uint8Array(32).fill(21));
const id = communityIdOf(key);
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

type Line = Record<string, unknown> & { type: string };

function ownerConfig(name: string, options: Record<string, unknown> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'owner.json');
  writeFileSync(
    file,
    JSON.stringify({
      nodeId: name,
      dataDir: 'data',
      torrentDir: 'torrents',
      database: 'node.db',
      communities: [{ id, chats: ['general'], privateKey: Buffer.from(key).toString('hex') }],
      // An owner starts archiving once a store node answers (§5.4, the reference's start-up):
      // this one runs the store service itself.
      messaging: { store: { retentionSeconds: 30 * 86_400 } },
      options,
    }),
  );
  return file;
}

/** `archivist node` as a child process, its stdout read as JSON lines. */
function startNode(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'node', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const lines: Line[] = [];
  let stderr = '';
  let buf = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p) as Line);
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of waiters.splice(0)) w();
  });
  const until = async (done: () => boolean, what: string, ms = 20_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`no ${what}; stderr: ${stderr}; lines: ${JSON.stringify(lines.slice(-4))}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  const stop = () =>
    new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  return { child, lines, stderr: () => stderr, until, stop };
}

const archived = (lines: Line[]) =>
  lines
    .filter((l) => l.type === 'archive.roundCreated')
    .flatMap((l) => l.archives as { messages: number }[])
    .reduce((n, a) => n + a.messages, 0);

describe('archivist node --messages', () => {
  it('stores a JSON-lines file before the machines start; the first round archives it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const lines = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({ timestamp: now - 20 * DAY_S + i * DAY_S, chat: 'general', text: `hello ${i}` }),
    );
    const file = join(root, 'chat.jsonl');
    writeFileSync(file, `${[...lines, lines[3]].join('\n')}\n`); // one line twice: stored once
    const config = ownerConfig('file-owner');
    const owner = startNode(['--config', config, '--messages', file]);
    await owner.until(() => owner.lines.some((l) => l.type === 'archive.roundCreated'), 'first round');
    expect(owner.lines.find((l) => l.type === 'node.messagesSaved')).toMatchObject({
      from: file,
      messages: 13,
    });
    expect(archived(owner.lines)).toBe(12);
    expect(await owner.stop()).toBe(0);
    const inspect = await run(['archive', 'inspect', join(root, 'file-owner', 'data', id)]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).totals.messages).toBe(12);

    // A bad line: refused with its file and line, before the node starts.
    writeFileSync(file, `${lines[0]}\n{"timestamp": 1, "chat": "general", "topic": "0x01020304"}\n`);
    const bad = await run(['node', '--config', ownerConfig('bad-owner'), '--messages', file]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`archivist: ${file}:2: give "topic" or "chat", not both\n`);
  });

  it('stores what arrives on standard input while it runs; the next round archives it; a bad line is skipped', async () => {
    const config = ownerConfig('stdin-owner', { archiveIntervalMs: 2000 });
    const owner = startNode(['--config', config, '--messages', '-']);
    await owner.until(() => owner.lines.some((l) => l.type === 'node.started'), 'start');
    expect(archived(owner.lines)).toBe(0);
    const now = Math.floor(Date.now() / 1000);
    const feed = (o: unknown) =>
      owner.child.stdin!.write(`${typeof o === 'string' ? o : JSON.stringify(o)}\n`);
    feed({ timestamp: now - 30, chat: 'general', text: 'first' });
    feed('{"timestamp": "yesterday", "chat": "general"}');
    feed({ timestamp: now - 20, chat: 'general', text: 'second' });
    feed({ timestamp: now - 10, chat: 'general', text: 'third' });
    await owner.until(() => archived(owner.lines) === 3, 'a round with the three messages');
    expect(owner.lines.filter((l) => l.type === 'node.messagesSaved').map((l) => l.from)).toEqual([
      '-:1',
      '-:3',
      '-:4',
    ]);
    expect(owner.stderr()).toBe(
      'archivist: -:2: field "timestamp" must be a non-negative integer (unix seconds) (line skipped)\n',
    );
    expect(await owner.stop()).toBe(0);
  });
});
