// The README's simulated host app inside the repository (test/package-install.test.ts runs
// it by package name from the packed tarball): a host app creates an archive node over its
// ports, subscribes to the signals and drives it.

import { expect, test } from 'vitest';
import { SimWorld } from '../adapters/sim/world.ts';
import { createArchiveNode } from '../machines/embed.ts';
import { InvariantMonitor } from '../machines/invariants.ts';
import type { NodeSignal } from '../machines/signals.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';

test('embedding example: a host app runs an owner and a member and listens to the signals', async () => {
  // --- the example (begin)
  const world = new SimWorld({ seed: 1, startTime: Date.UTC(2026, 0, 5) });
  const ownerNode = world.addNode({ id: 'owner' });
  const memberNode = world.addNode({ id: 'member' });

  const key = generateCommunityKey();
  const communityId = communityIdOf(key);
  ownerNode.sim.keys.set(communityId, key); // holding the key makes `owner` the control node
  const community = { id: communityId, chats: [`${communityId}-general`] };

  const seen: string[] = [];
  const owner = createArchiveNode({
    nodeId: 'owner',
    adapters: ownerNode.adapters,
    communities: [community],
  });
  const member = createArchiveNode({
    nodeId: 'member',
    adapters: memberNode.adapters,
    communities: [community],
    options: { importRate: 'fast' },
  });
  member.subscribe((signal) => {
    if (signal.type.startsWith('community.')) seen.push(signal.type);
  });

  // the host app stores the chat messages it has (here: one message a day for a week)
  const topic = chatTopic(community.chats[0] as string);
  for (let day = 0; day < 7; day++) {
    ownerNode.adapters.storage.saveMessages([
      {
        sig: new Uint8Array(65),
        timestamp: Math.floor(Date.UTC(2026, 0, 5 + day, 12) / 1000),
        topic,
        payload: new TextEncoder().encode(`hello on day ${day}`),
        padding: new Uint8Array(0),
        hash: new Uint8Array(32).fill(day + 1),
        thirdPartyId: '',
      },
    ]);
  }
  await world.runForAsync(8 * 24 * 3600 * 1000); // a week later the owner archives and announces
  await owner.stop();
  await member.stop();
  // --- the example (end)

  expect(seen).toEqual([
    'community.historyArchivesProtocolEnabled',
    'community.downloadingHistoryArchivesStarted',
    'community.historyArchiveDownloaded',
    'community.historyArchivesSeeding',
    'community.importingHistoryArchiveMessages',
    'community.downloadingHistoryArchivesFinished',
    'community.historyArchivesUnseeded', // stop() cancels the tasks and unseeds (§5.3)
  ]);
  expect(memberNode.adapters.storage.countMessages([topic])).toBe(7);
  expect(owner.state()).toBe('stopped');
  expect(memberNode.adapters.torrent.running).toBe(false);
});

test('embedding: monitors attached to embedded nodes see every signal and report no violation', async () => {
  const world = new SimWorld({ seed: 2, startTime: Date.UTC(2026, 0, 5) });
  const a = world.addNode({ id: 'a' });
  const b = world.addNode({ id: 'b' });
  const key = generateCommunityKey(new Uint8Array(32).fill(4));
  const id = communityIdOf(key);
  a.sim.keys.set(id, key);
  const chats = [`${id}-x`];
  const monitor = new InvariantMonitor({
    pieceLength: 102_400,
    topicsOf: () => chats.map((c) => chatTopic(c)),
  });
  const all: NodeSignal[] = [];
  for (const n of [a, b]) {
    const listener = monitor.attach({ id: n.id, adapters: n.adapters });
    createArchiveNode({
      nodeId: n.id,
      adapters: n.adapters,
      communities: [{ id, chats }],
      onSignal: (s) => {
        all.push(s);
        listener(s);
      },
    });
  }
  a.adapters.storage.saveMessages([
    {
      sig: new Uint8Array(65),
      timestamp: Math.floor(Date.UTC(2026, 0, 6) / 1000),
      topic: chatTopic(chats[0] as string),
      payload: new Uint8Array(500).fill(1),
      padding: new Uint8Array(0),
      hash: new Uint8Array(32).fill(1),
      thirdPartyId: '',
    },
  ]);
  await world.runForAsync(15 * 24 * 3600 * 1000);
  expect(monitor.violation).toBeUndefined();
  const v = monitor.verdicts();
  for (const name of [
    'dataAppendOnly',
    'archiveLayout',
    'onlyControlNodeDispatches',
    'singleTask',
  ] as const) {
    expect(v[name]).toBe('ok');
  }
  expect(all.filter((s) => s.type === 'archive.archiveImported' && s.node === 'b')).toHaveLength(1);
});

test('definitions: every machine is exported as a Stately config with its states and transitions', async () => {
  const { machineDefinitions } = await import('../machines/definitions.ts');
  const defs = machineDefinitions() as Record<
    string,
    { id: string; initial: string; states: Record<string, unknown> }
  >;
  expect(Object.keys(defs)).toEqual(['controlNode', 'member', 'node']);
  expect(defs.node?.initial).toBe('boot');
  type Def = { states: Record<string, Def>; on?: Record<string, { guard?: string; target?: string }[]> } & {
    after?: Record<string, { guard?: string; target: string }[]>;
    entry?: string[];
  };
  const member = defs.member as unknown as Def;
  const task = member.states.task as Def;
  expect(Object.keys(task.states)).toEqual(['downloading', 'importing', 'ended']);
  // each pass of the import loop waits for its 100 ms tick
  expect(Object.keys((task.states.importing as Def).states)).toEqual([
    'delaying',
    'ticking',
    'picking',
    'reading',
    'corrupt',
    'waitingForKey',
    'chunks',
    'finished',
  ]);
  // a magnet's path and an index cid's (protocol.md §11.1), chosen by the link's kind
  expect(Object.keys((task.states.downloading as Def).states)).toEqual([
    'opening',
    'metadata',
    'index',
    'cidIndex',
    'cidArchives',
    'archives',
    'seeding',
  ]);
  const cidArchives = (task.states.downloading as Def).states.cidArchives as Def;
  expect(cidArchives.entry).toEqual(['fetchAllArchives']);
  expect(cidArchives.after?.cidArchivePhase?.map((t) => t.target)).toEqual([
    '#member.task.downloading.cidIndex',
    '#member.task.ended',
  ]);
  const metadata = (task.states.downloading as Def).states.metadata as Def;
  // a wait is an effect started on entry whose outcome is an event of the state
  expect(metadata.entry).toEqual(['fetchMetadata']);
  expect(Object.keys(metadata.on ?? {})).toEqual(['METADATA.DONE', 'METADATA.FAILED']);
  expect(metadata.after?.metadataTimeout?.map((t) => t.guard ?? t.target)).toEqual([
    'mayRetry',
    '#member.task.ended',
  ]);
  // §5.5: the control node's dispatch is a state of its round
  const round = (defs.controlNode as unknown as Def).states.round as Def;
  expect(Object.keys(round.states)).toEqual(['creating', 'seeding', 'dispatching']);
  // plain JSON: what `archivist machines --json` prints
  expect(JSON.parse(JSON.stringify(defs))).toEqual(defs);
});
