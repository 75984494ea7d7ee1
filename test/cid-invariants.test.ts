// The §10 invariants restated for the content-addressed backend (machines/cid-invariants.ts),
// each judged on hand-made signal sequences over a real round in a simulated content store:
// one sequence that keeps it, one that breaks it.
import { describe, expect, test } from 'vitest';
import { type SimNode, SimWorld } from '../adapters/sim/world.ts';
import {
  type CidIndex,
  type CidIndexEntry,
  cidArchiveIdOf,
  createCidRound,
  encodeStoredCidIndex,
} from '../archive/content-round.ts';
import { InvariantMonitor, type InvariantName } from '../machines/invariants.ts';
import type { NodeSignal } from '../machines/signals.ts';
import type { NodeAdapters } from '../ports/index.ts';
import { chatTopic } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';

const C = 'c1';
const WEEK = 604_800;
const T0 = 1_767_225_600; // 2026-01-01, Unix seconds
const topic = chatTopic('general');

function msg(i: number, timestamp: number): WakuMessage {
  return {
    sig: Uint8Array.of(i & 255),
    timestamp,
    topic,
    payload: new Uint8Array(200).fill(i & 255),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill((i * 7 + 1) & 255),
    thirdPartyId: '',
  };
}

/** Storage whose archive state can carry an index-cid clock the test sets (§11's field). */
function withCidClock(adapters: NodeAdapters, clocks: Map<string, number>): NodeAdapters {
  const storage = adapters.storage;
  const wrapped = new Proxy(storage, {
    get(target, key) {
      if (key === 'getArchiveState')
        return (c: string) => ({
          ...target.getArchiveState(c),
          ...(clocks.has(c) ? { indexCidClock: clocks.get(c) } : {}),
        });
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { ...adapters, storage: wrapped };
}

async function setup() {
  const world = new SimWorld({ seed: 1, startTime: T0 * 1000 });
  const owner = world.addNode({ id: 'owner' });
  const m1 = world.addNode({ id: 'm1' });
  owner.sim.keys.set(C, new Uint8Array(32).fill(9));
  await owner.sim.content.start();
  await m1.sim.content.start();
  const clocks = new Map<string, Map<string, number>>([
    ['owner', new Map()],
    ['m1', new Map()],
  ]);
  const monitor = new InvariantMonitor({
    pieceLength: 102_400,
    topicsOf: () => [topic],
    readContent: (id, cid) => world.content.readLocal(id, cid),
  });
  for (const n of [owner, m1])
    monitor.attach({ id: n.id, adapters: withCidClock(n.adapters, clocks.get(n.id)!) });
  let t = 0;
  const emit = (node: string, s: Record<string, unknown>) =>
    monitor.observe({ communityId: C, ...s, node, t: ++t } as unknown as NodeSignal);
  /** The owner archives `messages` over [start, end) with the real round code; signals it. */
  const round = async (messages: WakuMessage[], start: number, end: number, previous?: CidIndex) => {
    owner.adapters.storage.saveMessages(messages);
    const r = await createCidRound(owner.sim.content, {
      topics: [topic],
      messages,
      start,
      end,
      ...(previous ? { previous } : {}),
    });
    emit('owner', {
      type: 'archive.cidRoundCreated',
      start,
      end,
      archives: r.archives,
      dropped: r.dropped,
      ...(r.indexCid ? { indexCid: r.indexCid } : {}),
    });
    return r;
  };
  const verdict = (name: InvariantName) => monitor.verdicts()[name];
  return { world, owner, m1, monitor, emit, round, verdict, clocks };
}

const twoWeeks = [msg(1, T0 + 10), msg(2, T0 + 20), msg(3, T0 + WEEK + 5)];

/** Uploads a hand-made index (entries keyed as given) to the owner's store; its cid. */
async function uploadIndex(
  owner: SimNode,
  entries: Array<[string | undefined, CidIndexEntry]>,
): Promise<string> {
  const index: CidIndex = { archives: new Map(entries.map(([id, e]) => [id ?? cidArchiveIdOf(e), e])) };
  return owner.sim.content.upload(encodeStoredCidIndex(index));
}

async function entry(owner: SimNode, from: number, to: number, label: string): Promise<CidIndexEntry> {
  const cid = await owner.sim.content.upload(new TextEncoder().encode(label));
  return { version: 0, metadata: { version: 0, from, to, contentTopic: [topic] }, cid };
}

describe('cidIndexLayout and cidMessagesArchivedOnce (§10.3, §10.4)', () => {
  test('rounds of the real round code keep both, earlier entries included', async () => {
    const { round, verdict, monitor } = await setup();
    const first = await round(twoWeeks, T0, T0 + 2 * WEEK);
    expect(first.archives).toHaveLength(2);
    await round([msg(4, T0 + 2 * WEEK + 1)], T0 + 2 * WEEK, T0 + 3 * WEEK, first.index);
    expect(monitor.violation).toBeUndefined();
    expect(verdict('cidIndexLayout')).toBe('ok');
    expect(verdict('cidMessagesArchivedOnce')).toBe('ok');
  });

  test('an index key that is not the Keccak-256 of its entry breaks cidIndexLayout', async () => {
    const { owner, emit, verdict } = await setup();
    const e = await entry(owner, T0, T0 + WEEK, 'a');
    const indexCid = await uploadIndex(owner, [[`0x${'ab'.repeat(32)}`, e]]);
    emit('owner', {
      type: 'archive.cidRoundCreated',
      start: T0,
      end: T0 + WEEK,
      archives: [],
      dropped: 0,
      indexCid,
    });
    expect(verdict('cidIndexLayout')).toMatch(/its entry hashes to/);
  });

  test('two partially overlapping ranges break cidIndexLayout', async () => {
    const { owner, emit, verdict } = await setup();
    const a = await entry(owner, T0, T0 + WEEK, 'a');
    const b = await entry(owner, T0 + 100, T0 + 2 * WEEK, 'b');
    const indexCid = await uploadIndex(owner, [
      [undefined, a],
      [undefined, b],
    ]);
    emit('owner', {
      type: 'archive.cidRoundCreated',
      start: T0,
      end: T0 + 2 * WEEK,
      archives: [],
      dropped: 0,
      indexCid,
    });
    expect(verdict('cidIndexLayout')).toMatch(/overlap/);
  });

  test('an index its store does not hold, or a round archive missing from it, breaks cidIndexLayout', async () => {
    const s = await setup();
    const r = await s.round(twoWeeks, T0, T0 + 2 * WEEK);
    s.world.content.drop('owner', r.indexCid!);
    s.emit('owner', {
      type: 'archive.cidRoundCreated',
      start: T0,
      end: T0 + 2 * WEEK,
      archives: r.archives,
      dropped: 0,
      indexCid: r.indexCid,
    });
    expect(s.verdict('cidIndexLayout')).toMatch(/does not hold the index/);
    const t = await setup();
    const other = await t.owner.sim.content.upload(encodeStoredCidIndex({ archives: new Map() }));
    const r2 = await createCidRound(t.owner.sim.content, {
      topics: [topic],
      messages: twoWeeks,
      start: T0,
      end: T0 + 2 * WEEK,
    });
    t.emit('owner', {
      type: 'archive.cidRoundCreated',
      start: T0,
      end: T0 + 2 * WEEK,
      archives: r2.archives,
      dropped: 0,
      indexCid: other,
    });
    expect(t.verdict('cidIndexLayout')).toMatch(/is not in its index/);
  });

  test('a stored message of the range in no archive breaks cidMessagesArchivedOnce', async () => {
    const { owner, round, verdict } = await setup();
    owner.adapters.storage.saveMessages([msg(9, T0 + 30)]); // stored, but not given to the round
    await round(twoWeeks, T0, T0 + 2 * WEEK);
    expect(verdict('cidIndexLayout')).toBe('ok');
    expect(verdict('cidMessagesArchivedOnce')).toMatch(/1 stored messages .* are in no archive/);
  });

  test('a round archiving a range of an earlier round again breaks cidMessagesArchivedOnce', async () => {
    const { round, verdict } = await setup();
    await round(twoWeeks, T0, T0 + 2 * WEEK);
    await round([msg(5, T0 + 40)], T0, T0 + WEEK);
    expect(verdict('cidMessagesArchivedOnce')).toMatch(/overlaps .* of an earlier round/);
  });
});

describe('cidClocksMonotonic (§10.6) and onlyControlNodeDispatches for index-cid links (§10.5)', () => {
  async function seededIndex() {
    const s = await setup();
    const r = await s.round(twoWeeks, T0, T0 + 2 * WEEK);
    s.emit('owner', { type: 'archive.indexCidSeeded', indexCid: r.indexCid });
    return { ...s, indexCid: r.indexCid! };
  }
  const dispatch = (clock: number, indexCid: string, signer = C) => ({
    type: 'archive.indexCidDispatched',
    clock,
    indexCid,
    signer,
  });

  test('index-cid clocks increase on their own, apart from the magnetlink clocks', async () => {
    const { emit, indexCid, verdict, monitor } = await seededIndex();
    emit('owner', {
      type: 'archive.magnetlinkDispatched',
      clock: 100,
      magnetUri: 'magnet:?xt=urn:btih:00',
      signer: C,
    });
    emit('owner', dispatch(5, indexCid));
    emit('owner', dispatch(6, indexCid));
    expect(monitor.violation).toBeUndefined();
    expect(verdict('cidClocksMonotonic')).toBe('ok');
    expect(verdict('onlyControlNodeDispatches')).toBe('ok');
  });

  test('a dispatched index-cid clock that does not increase breaks it', async () => {
    const { emit, indexCid, verdict } = await seededIndex();
    emit('owner', dispatch(5, indexCid));
    emit('owner', dispatch(5, indexCid));
    expect(verdict('cidClocksMonotonic')).toMatch(/dispatched index-cid clock 5 after 5/);
  });

  test("a member's stored index-cid clock going back breaks it", async () => {
    const { emit, clocks, verdict } = await setup();
    clocks.get('m1')!.set(C, 50);
    emit('m1', {
      type: 'archive.magnetlinkReceived',
      signer: C,
      clock: 50,
      magnetUri: 'x',
      accepted: true,
      kind: 'cid',
    });
    expect(verdict('cidClocksMonotonic')).toBe('ok');
    clocks.get('m1')!.set(C, 40);
    emit('m1', { type: 'archive.taskEnded', status: 'done' });
    expect(verdict('cidClocksMonotonic')).toMatch(/from 50 to 40/);
  });

  test('an index-cid link from a node without the community key, or signed by another, breaks §10.5', async () => {
    const s = await seededIndex();
    s.emit('m1', dispatch(5, s.indexCid));
    expect(s.verdict('onlyControlNodeDispatches')).toMatch(/without its key/);
    const t = await seededIndex();
    t.emit('owner', dispatch(5, t.indexCid, 'someone'));
    expect(t.verdict('onlyControlNodeDispatches')).toMatch(/signed by someone/);
  });
});

describe('cidIndexSeeded (§10.7)', () => {
  test('announcing the index it seeds and holds keeps it', async () => {
    const { round, emit, verdict, monitor } = await setup();
    const r = await round(twoWeeks, T0, T0 + 2 * WEEK);
    emit('owner', { type: 'archive.indexCidSeeded', indexCid: r.indexCid });
    emit('owner', { type: 'archive.indexCidDispatched', clock: 1, indexCid: r.indexCid, signer: C });
    expect(monitor.violation).toBeUndefined();
    expect(verdict('cidIndexSeeded')).toBe('ok');
  });

  test('announcing an index never seeded, or unseeded since, breaks it', async () => {
    const s = await setup();
    const r = await s.round(twoWeeks, T0, T0 + 2 * WEEK);
    s.emit('owner', { type: 'archive.indexCidDispatched', clock: 1, indexCid: r.indexCid, signer: C });
    expect(s.verdict('cidIndexSeeded')).toMatch(/which it does not seed/);
    const t = await setup();
    const r2 = await t.round(twoWeeks, T0, T0 + 2 * WEEK);
    t.emit('owner', { type: 'archive.indexCidSeeded', indexCid: r2.indexCid });
    t.emit('owner', { type: 'archive.indexCidUnseeded', indexCid: r2.indexCid });
    t.emit('owner', { type: 'archive.indexCidDispatched', clock: 1, indexCid: r2.indexCid, signer: C });
    expect(t.verdict('cidIndexSeeded')).toMatch(/which it does not seed/);
  });

  test('announcing an index its store no longer holds breaks it', async () => {
    const { world, round, emit, verdict } = await setup();
    const r = await round(twoWeeks, T0, T0 + 2 * WEEK);
    emit('owner', { type: 'archive.indexCidSeeded', indexCid: r.indexCid });
    world.content.leave('owner'); // the store node left: its store is wiped
    emit('owner', { type: 'archive.indexCidDispatched', clock: 1, indexCid: r.indexCid, signer: C });
    expect(verdict('cidIndexSeeded')).toMatch(/its store does not hold/);
  });
});

describe('cidImportsListed (§10.8)', () => {
  test('imports of archives listed in an index read keep it; a torrent-only node is not judged', async () => {
    const { owner, m1, emit, verdict, monitor } = await setup();
    const download = (n: SimNode, id: string) => {
      n.adapters.storage.markArchiveDownloaded(C, { id, from: T0, to: T0 + WEEK });
      emit(n.id, { type: 'community.historyArchiveDownloaded', from: T0, to: T0 + WEEK });
    };
    download(owner, 'z');
    emit('owner', { type: 'archive.archiveImported', id: 'z', messages: 1, skipped: 0 });
    expect(verdict('cidImportsListed')).toBe('not checked');
    // 'both': a torrent index, then a content-addressed one
    emit('m1', { type: 'archive.indexRead', infoHash: 'h', ids: ['t1'] });
    download(m1, 't1');
    emit('m1', { type: 'archive.indexRead', infoHash: 'bafy', ids: ['a1', 'a2'], kind: 'cid' });
    download(m1, 'a1');
    emit('m1', { type: 'archive.archiveImported', id: 'a1', messages: 1, skipped: 0 });
    emit('m1', { type: 'archive.archiveImported', id: 't1', messages: 1, skipped: 0 });
    expect(monitor.violation).toBeUndefined();
    expect(verdict('cidImportsListed')).toBe('ok');
  });

  test('importing an archive no index it read lists breaks it', async () => {
    const { emit, verdict } = await setup();
    emit('m1', { type: 'archive.indexRead', infoHash: 'bafy', ids: ['a1'], kind: 'cid' });
    emit('m1', { type: 'archive.archiveImported', id: 'a9', messages: 1, skipped: 0 });
    expect(verdict('cidImportsListed')).toMatch(/imported a9, which no index it read lists/);
  });

  test('a node whose storage was replaced starts over', async () => {
    const { emit, verdict, monitor } = await setup();
    emit('m1', { type: 'archive.indexRead', infoHash: 'bafy', ids: ['a1'], kind: 'cid' });
    monitor.nodeReplaced('m1');
    emit('m1', { type: 'archive.archiveImported', id: 'a9', messages: 1, skipped: 0 });
    expect(verdict('cidImportsListed')).toBe('not checked');
  });
});
