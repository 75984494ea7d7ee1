// The node:sqlite Storage: port behaviour, schema migrations and the crash contract, the
// latter by SIGKILLing a child process that writes in a loop.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, SqliteStorage, StorageSchemaError } from '../adapters/real/sqlite-storage.ts';
import type { WakuMessage } from '../proto/types.ts';
import { describeStorageContract } from './contract/storage.contract.ts';

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'archivist-sqlite-'));
  dirs.push(dir);
  return join(dir, 'node.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T1 = Uint8Array.of(1, 1, 1, 1);
const T2 = Uint8Array.of(2, 2, 2, 2);
function msg(ts: number, topic: Uint8Array, hashByte: number, extra: Partial<WakuMessage> = {}): WakuMessage {
  return {
    sig: Uint8Array.of(hashByte, 1),
    timestamp: ts,
    topic,
    payload: Uint8Array.of(hashByte, 2, 3),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill(hashByte),
    thirdPartyId: '',
    ...extra,
  };
}

describe('SqliteStorage', () => {
  it('deduplicates messages by hash and answers range queries in timestamp-then-hash order', () => {
    const s = new SqliteStorage(tempDb());
    expect(s.saveMessages([msg(20, T1, 3), msg(10, T1, 2), msg(20, T1, 1), msg(15, T2, 4)])).toBe(4);
    expect(s.saveMessages([msg(20, T1, 3), msg(30, T1, 5)])).toBe(1);
    expect(s.countMessages()).toBe(5);
    expect(s.countMessages([T2])).toBe(1);
    const got = s.messagesInRange([T1], 10, 30);
    expect(got.map((m) => [m.timestamp, m.hash[0]])).toEqual([
      [10, 2],
      [20, 1],
      [20, 3],
    ]);
    expect(got[0]).toEqual(msg(10, T1, 2));
    expect(s.oldestMessageTimestamp([T1, T2])).toBe(10);
    expect(s.newestMessageTimestamp([T2])).toBe(15);
    expect(s.oldestMessageTimestamp([Uint8Array.of(9, 9, 9, 9)])).toBeUndefined();
    expect(s.messagesInRange([], 0, 100)).toEqual([]);
    expect(s.deleteMessagesInRange([T1], 20, 31)).toBe(3);
    expect(s.countMessages([T1])).toBe(1);
    s.close();
  });

  it('keeps third-party ids, padding and large timestamps across reopen', () => {
    const path = tempDb();
    const s = new SqliteStorage(path);
    const m = msg(1_900_000_000, T1, 7, { thirdPartyId: 'discord-1', padding: Uint8Array.of(0, 0, 1) });
    s.saveMessages([m]);
    s.close();
    const again = new SqliteStorage(path);
    expect(again.messagesInRange([T1], 0, 2_000_000_000)).toEqual([m]);
    again.close();
  });

  it('merges archive state patches and records archives without re-importing', () => {
    const s = new SqliteStorage(tempDb());
    expect(s.getArchiveState('c')).toEqual({});
    s.updateArchiveState('c', { magnetlinkClock: 5 });
    s.updateArchiveState('c', { lastSeenMagnetlink: 'magnet:?xt=urn:btih:aa', lastArchiveEndDate: 100 });
    expect(s.getArchiveState('c')).toEqual({
      magnetlinkClock: 5,
      lastSeenMagnetlink: 'magnet:?xt=urn:btih:aa',
      lastArchiveEndDate: 100,
    });
    s.updateArchiveState('c', { lastSeenMagnetlink: undefined });
    expect(s.getArchiveState('c')).toEqual({ magnetlinkClock: 5, lastArchiveEndDate: 100 });

    s.markArchiveDownloaded('c', { id: '0xb', from: 200, to: 300 });
    s.markArchiveDownloaded('c', { id: '0xa', from: 100, to: 200 });
    s.markArchiveImported('c', '0xa');
    s.markArchiveDownloaded('c', { id: '0xa', from: 100, to: 200 });
    expect(s.archives('c')).toEqual([
      { id: '0xa', from: 100, to: 200, imported: true },
      { id: '0xb', from: 200, to: 300, imported: false },
    ]);
    expect(() => s.markArchiveImported('c', '0xnone')).toThrow(/never recorded/);
    s.saveMessages([msg(1, T1, 1)]);
    s.forgetCommunity('c');
    expect(s.archives('c')).toEqual([]);
    expect(s.getArchiveState('c')).toEqual({});
    expect(s.countMessages()).toBe(1);
    s.close();
  });

  it('runs in WAL mode, stamps the schema version and migrates an empty file', () => {
    const path = tempDb();
    const s = new SqliteStorage(path);
    expect(s.schemaVersion()).toBe(SCHEMA_VERSION);
    s.close();
    const raw = new DatabaseSync(path);
    expect((raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    raw.close();
  });

  it('refuses a database written by a newer schema', () => {
    const path = tempDb();
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new SqliteStorage(path)).toThrow(StorageSchemaError);
  });

  it('rolls a failed method back entirely', () => {
    const s = new SqliteStorage(tempDb());
    const bad = { ...msg(1, T1, 2), payload: undefined as unknown as Uint8Array };
    expect(() => s.saveMessages([msg(1, T1, 1), bad])).toThrow();
    expect(s.countMessages()).toBe(0);
    s.close();
  });

  it('keeps every returned method and no partial one when the process is SIGKILLed mid-write', async () => {
    const path = tempDb();
    const batch = 200;
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, 'fixtures/real-storage-writer.ts'), path, String(batch)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let printed = -1;
    let buffer = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('writer did not make progress')), 20_000);
      child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const l of lines) printed = Number(l);
        if (printed >= 15) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.removeAllListeners('exit');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const s = new SqliteStorage(path);
    const messages = s.countMessages();
    expect(messages % batch).toBe(0);
    const batches = messages / batch;
    const archives = s.archives('c').length;
    const clock = s.getArchiveState('c').magnetlinkClock ?? -1;
    // The child runs saveMessages(k), markArchiveDownloaded(k), updateArchiveState(k) in order.
    expect(clock).toBeGreaterThanOrEqual(printed);
    expect(batches === clock + 1 || batches === clock + 2).toBe(true);
    expect(archives === clock + 1 || archives === clock + 2).toBe(true);
    expect(archives).toBeLessThanOrEqual(batches);
    s.close();
    const raw = new DatabaseSync(path);
    expect((raw.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe(
      'ok',
    );
    raw.close();
  });
});

describeStorageContract('SqliteStorage (node:sqlite, WAL)', async () => {
  const path = tempDb();
  const opened: SqliteStorage[] = [new SqliteStorage(path)];
  return {
    storage: opened[0]!,
    // A crash: the old connection is abandoned un-closed (no checkpoint), a new one opens the file.
    reopen: () => {
      const again = new SqliteStorage(path);
      opened.push(again);
      return again;
    },
    teardown: () => {
      for (const s of opened) s.close();
    },
  };
});
