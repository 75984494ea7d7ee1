// Contract of the Storage port, for any implementation, including its crash contract:
// whatever a method returned survives `reopen()` (a crash and restart of the process).

import { describe, expect, it } from 'vitest';
import type { Storage } from '../../ports/storage.ts';
import type { WakuMessage } from '../../proto/types.ts';

export interface StorageFixture {
  storage: Storage;
  /** Simulate a crash and restart; returns the storage as reopened (same object or a new one). */
  reopen(): Promise<Storage> | Storage;
  teardown?(): Promise<void> | void;
}

const T1 = new Uint8Array([1, 1, 1, 1]);
const T2 = new Uint8Array([2, 2, 2, 2]);
const T3 = new Uint8Array([3, 3, 3, 3]);

function msg(
  topic: Uint8Array,
  timestamp: number,
  hashByte: number,
  text = `t${timestamp}h${hashByte}`,
): WakuMessage {
  const hash = new Uint8Array(32);
  hash[0] = hashByte;
  hash[31] = timestamp & 0xff;
  return {
    sig: new Uint8Array([9, 9, 9]),
    timestamp,
    topic,
    payload: new TextEncoder().encode(text),
    padding: new Uint8Array([0, 0]),
    hash,
    thirdPartyId: hashByte % 2 === 0 ? '' : `third-${hashByte}`,
  };
}

const key = (m: WakuMessage) => `${m.timestamp}:${m.hash[0]}`;

export function describeStorageContract(name: string, factory: () => Promise<StorageFixture>): void {
  describe(`Storage contract: ${name}`, () => {
    async function withFixture(fn: (fx: StorageFixture) => Promise<void>): Promise<void> {
      const fx = await factory();
      try {
        await fn(fx);
      } finally {
        await fx.teardown?.();
      }
    }

    it('saves messages once, deduplicated by hash, and keeps every field', () =>
      withFixture(async ({ storage: s }) => {
        const a = msg(T1, 100, 1);
        expect(s.saveMessages([a, msg(T1, 101, 2), a])).toBe(2);
        expect(s.saveMessages([msg(T1, 100, 1), msg(T2, 50, 3)])).toBe(1);
        expect(s.saveMessages([])).toBe(0);
        expect(s.countMessages()).toBe(3);
        const [got] = s.messagesInRange([T1], 100, 101);
        expect(got).toBeDefined();
        expect([...got!.sig]).toEqual([...a.sig]);
        expect([...got!.topic]).toEqual([...a.topic]);
        expect(new TextDecoder().decode(got!.payload)).toBe('t100h1');
        expect([...got!.padding]).toEqual([0, 0]);
        expect([...got!.hash]).toEqual([...a.hash]);
        expect(got!.thirdPartyId).toBe('third-1');
      }));

    it('returns messages of the given topics with from <= timestamp < to, by timestamp then hash', () =>
      withFixture(async ({ storage: s }) => {
        s.saveMessages([
          msg(T1, 20, 5),
          msg(T2, 10, 1),
          msg(T1, 10, 7),
          msg(T1, 10, 2),
          msg(T3, 15, 1),
          msg(T1, 30, 1),
        ]);
        expect(s.messagesInRange([T1, T2], 10, 30).map(key)).toEqual(['10:1', '10:2', '10:7', '20:5']);
        expect(s.messagesInRange([T1], 11, 20).map(key)).toEqual([]);
        expect(s.messagesInRange([T3], 0, 100).map(key)).toEqual(['15:1']);
        expect(s.messagesInRange([], 0, 100)).toEqual([]);
        expect(s.oldestMessageTimestamp([T1])).toBe(10);
        expect(s.newestMessageTimestamp([T1, T3])).toBe(30);
        expect(s.oldestMessageTimestamp([new Uint8Array([7, 7, 7, 7])])).toBeUndefined();
        expect(s.newestMessageTimestamp([])).toBeUndefined();
        expect(s.countMessages([T1])).toBe(4);
        expect(s.countMessages([T2, T3])).toBe(2);
      }));

    it('deletes messages in a range of some topics only', () =>
      withFixture(async ({ storage: s }) => {
        s.saveMessages([msg(T1, 10, 1), msg(T1, 20, 1), msg(T1, 30, 1), msg(T2, 20, 2)]);
        expect(s.deleteMessagesInRange([T1], 10, 30)).toBe(2);
        expect(s.messagesInRange([T1, T2], 0, 100).map(key)).toEqual(['20:2', '30:1']);
        expect(s.deleteMessagesInRange([T1], 10, 30)).toBe(0);
        // a deleted message can be saved again
        expect(s.saveMessages([msg(T1, 10, 1)])).toBe(1);
      }));

    it('merges archive state patches per community; undefined clears a field', () =>
      withFixture(async ({ storage: s }) => {
        expect(s.getArchiveState('c1')).toEqual({});
        s.updateArchiveState('c1', { lastArchiveEndDate: 1000 });
        s.updateArchiveState('c1', { magnetlinkClock: 5, lastSeenMagnetlink: 'magnet:?xt=urn:btih:aa' });
        s.updateArchiveState('c2', { magnetlinkClock: 9 });
        expect(s.getArchiveState('c1')).toEqual({
          lastArchiveEndDate: 1000,
          magnetlinkClock: 5,
          lastSeenMagnetlink: 'magnet:?xt=urn:btih:aa',
        });
        s.updateArchiveState('c1', { lastSeenMagnetlink: undefined, magnetlinkClock: 6 });
        expect(s.getArchiveState('c1')).toEqual({ lastArchiveEndDate: 1000, magnetlinkClock: 6 });
        expect(s.getArchiveState('c2')).toEqual({ magnetlinkClock: 9 });
        // the returned object is a copy
        const st = s.getArchiveState('c2');
        st.magnetlinkClock = 1;
        expect(s.getArchiveState('c2').magnetlinkClock).toBe(9);
      }));

    it('records downloaded and imported archives, ordered by from', () =>
      withFixture(async ({ storage: s }) => {
        expect(s.archives('c1')).toEqual([]);
        s.markArchiveDownloaded('c1', { id: '0xbb', from: 200, to: 300 });
        s.markArchiveDownloaded('c1', { id: '0xaa', from: 100, to: 200 });
        s.markArchiveDownloaded('c2', { id: '0xcc', from: 0, to: 100 });
        s.markArchiveImported('c1', '0xaa');
        expect(s.archives('c1')).toEqual([
          { id: '0xaa', from: 100, to: 200, imported: true },
          { id: '0xbb', from: 200, to: 300, imported: false },
        ]);
        // recording again keeps the imported flag
        s.markArchiveDownloaded('c1', { id: '0xaa', from: 100, to: 200 });
        expect(s.archives('c1')[0]!.imported).toBe(true);
        expect(() => s.markArchiveImported('c1', '0xzz')).toThrow();
        expect(s.archives('c2')).toEqual([{ id: '0xcc', from: 0, to: 100, imported: false }]);
      }));

    it('forgets a community but keeps its messages', () =>
      withFixture(async ({ storage: s }) => {
        s.saveMessages([msg(T1, 10, 1)]);
        s.updateArchiveState('c1', { lastArchiveEndDate: 7 });
        s.markArchiveDownloaded('c1', { id: '0xaa', from: 1, to: 2 });
        s.updateArchiveState('c2', { lastArchiveEndDate: 8 });
        s.forgetCommunity('c1');
        expect(s.getArchiveState('c1')).toEqual({});
        expect(s.archives('c1')).toEqual([]);
        expect(s.getArchiveState('c2')).toEqual({ lastArchiveEndDate: 8 });
        expect(s.countMessages([T1])).toBe(1);
      }));

    it('keeps everything a method returned across a crash and reopen', () =>
      withFixture(async (fx) => {
        const s = fx.storage;
        s.saveMessages([msg(T1, 10, 1), msg(T2, 20, 2)]);
        s.updateArchiveState('c1', { lastArchiveEndDate: 99, magnetlinkClock: 3 });
        s.markArchiveDownloaded('c1', { id: '0xaa', from: 1, to: 2 });
        s.markArchiveImported('c1', '0xaa');
        s.markArchiveDownloaded('c1', { id: '0xbb', from: 2, to: 3 });
        const r = await fx.reopen();
        expect(r.messagesInRange([T1, T2], 0, 100).map(key)).toEqual(['10:1', '20:2']);
        expect(r.getArchiveState('c1')).toEqual({ lastArchiveEndDate: 99, magnetlinkClock: 3 });
        expect(r.archives('c1')).toEqual([
          { id: '0xaa', from: 1, to: 2, imported: true },
          { id: '0xbb', from: 2, to: 3, imported: false },
        ]);
      }));
  });
}
