// An owner's content-addressed rounds reach a member through a ContentStore, on the
// simulated network and on Helia alike: the owner uploads each archive and the index
// (keeping the earlier entries while it holds the previous index), the member fetches the
// index by its link, verifies it, fetches the archives it lacks, and reloads them from
// its own store to import them. Below the machines: the pieces the archive service will join.
import { describe, expect, it } from 'vitest';
import { HeliaContentStore } from '../adapters/real/helia-content-store.ts';
import { SimWorld } from '../adapters/sim/world.ts';
import {
  cidEntriesNewestFirst,
  createCidRound,
  decodeStoredCidIndex,
  loadPreviousCidIndex,
  readCidArchive,
  verifyCidIndex,
} from '../archive/index.ts';
import type { ContentStore } from '../ports/content-store.ts';
import { archiveLinkKind } from '../proto/archive-link.ts';
import {
  communityIdOf,
  decodeArchiveLinkMessage,
  encodeArchiveLinkMessage,
  generateCommunityKey,
} from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';

const WEEK = 604_800;
const T0 = 1_767_225_600;
const topic = chatTopic('general');
const key = generateCommunityKey(new Uint8Array(32).fill(21));

function messages(weeks: number[]): WakuMessage[] {
  return weeks.flatMap((w) =>
    Array.from({ length: 30 }, (_, i) => ({
      sig: Uint8Array.of(w, i),
      timestamp: T0 + w * WEEK + i * 600,
      topic,
      payload: new Uint8Array(5000).fill(w * 31 + i),
      padding: new Uint8Array(0),
      hash: new Uint8Array(32).fill(w * 7 + i),
      thirdPartyId: '',
    })),
  );
}

async function ownerToMember(
  owner: ContentStore,
  member: ContentStore,
  settle: <T>(p: Promise<T>) => Promise<T>,
) {
  // Round 1: weeks 0 and 1. Round 2: week 2, keeping round 1's entries (the index is held).
  const first = await createCidRound(owner, {
    topics: [topic],
    messages: messages([0, 1]),
    start: T0,
    end: T0 + 2 * WEEK,
  });
  const previous = await loadPreviousCidIndex(owner, first.indexCid);
  const second = await createCidRound(owner, {
    topics: [topic],
    messages: messages([0, 1, 2]),
    start: T0 + 2 * WEEK,
    end: T0 + 3 * WEEK,
    previous,
  });
  expect(second.index.archives.size).toBe(3);
  // The link travels in the signed type-43 message.
  const wire = encodeArchiveLinkMessage(key, 1_000, second.indexCid!);
  const { signer, archiveLink } = decodeArchiveLinkMessage(wire);
  expect(signer).toBe(communityIdOf(key));
  expect(archiveLinkKind(archiveLink)).toBe('cid');
  // The member: index, check, archives newest first (all at once), import from its own store.
  const index = decodeStoredCidIndex(await settle(member.fetch(archiveLink)));
  expect(verifyCidIndex(index)).toEqual([]);
  expect(index).toEqual(second.index);
  const order = cidEntriesNewestFirst(index);
  await settle(Promise.all(order.map(([, e]) => member.fetch(e.cid))));
  const imported: number[] = [];
  for (const [id] of order.reverse())
    imported.push(...(await readCidArchive(member, index, id)).messages.map((m) => m.timestamp));
  expect(imported).toEqual(messages([0, 1, 2]).map((m) => m.timestamp));
  expect(await member.has(archiveLink)).toBe(true);
}

describe('owner -> member over a content store', () => {
  it('on the simulated content network', async () => {
    const w = new SimWorld({ seed: 3, startTime: Date.UTC(2026, 0, 1) });
    const owner = w.addNode({ id: 'owner' }).sim.content;
    const member = w.addNode({ id: 'member' }).sim.content;
    await owner.start();
    await member.start();
    const settle = async <T>(p: Promise<T>): Promise<T> => {
      let done = false;
      p.then(
        () => (done = true),
        () => (done = true),
      );
      while (!done) await w.runForAsync(100);
      return p;
    };
    await ownerToMember(owner, member, settle);
  });

  it('on Helia, two stores on loopback', async () => {
    const owner = new HeliaContentStore();
    await owner.start();
    const member = new HeliaContentStore({ peers: owner.multiaddrs() });
    try {
      await member.start();
      await ownerToMember(owner, member, (p) => p);
    } finally {
      await member.stop();
      await owner.stop();
    }
  }, 60_000);
});
