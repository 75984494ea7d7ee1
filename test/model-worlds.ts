// The system under test of the model-based tests (test/model-machines.test.ts): the
// machines composed with the simulated adapters, driven through simulated worlds. Each
// world is a named script on the scenario harness (rounds, late joiners, crashes, spec
// timing, protocol and support toggles, torrents a member must refuse, an encrypted
// community, the §5.5 fault, and port faults injected with adapters/sim/faulty-adapters.ts).
// A world throws when it did not do what its name says (a fault that never hit), so a
// change in the machines cannot quietly turn a world into a no-op.

import type { PortCall } from '../adapters/sim/faulty-adapters.ts';
import { type ArchiveNode, createArchiveNode } from '../machines/embed.ts';
import { DAY, HOUR, MINUTE, SECOND } from '../machines/options.ts';
import { createHarness, type Harness, type HarnessConfig } from '../scenarios/harness.ts';
import { harnessRunContext } from '../scenarios/run/harness-context.ts';
import { applyAction } from '../scenarios/run/timeline.ts';
import { buildTorrentFile, magnetFor, parseTorrentFile } from '../sim/torrent-file.ts';
import { publishMagnetlink, ratchet, seedEmptyArchive } from './machines-helpers.ts';
import { CID_WORLDS } from './model-worlds-cid.ts';

const WEEK = 7 * DAY;

export interface WorldRun {
  harness: Harness;
}

async function drive(
  config: Partial<HarnessConfig>,
  script: (h: Harness) => void = () => {},
): Promise<WorldRun> {
  const h = await createHarness({ seed: 11, members: 2, messagesPerDay: 30, durationMs: 9 * DAY, ...config });
  script(h);
  await h.run();
  return { harness: h };
}

/**
 * A world whose nodes run on faulty adapters: `fault(nodeId, call)` arms, through the
 * scenarios' own `portFault` action (scenarios/faults/port-faults.ts), a fault on the next
 * call of a port method of one node, and `expected` lists the calls each node must have had
 * hit by the end of the run.
 */
async function driveWithFaults(
  config: Partial<HarnessConfig>,
  script: (h: Harness, fault: (nodeId: string, call: PortCall) => void) => void,
  expected: Record<string, PortCall[]>,
): Promise<WorldRun> {
  const run = await drive({ ...config, portFaults: true }, (h) => {
    const context = harnessRunContext(h);
    script(h, (node, call) =>
      applyAction({ at: 0, do: 'portFault', node, call, mode: 'fail', times: 1 }, context),
    );
  });
  for (const [node, calls] of Object.entries(expected)) {
    for (const call of calls) {
      if ((run.harness.node(node).faults?.hits(call) ?? 0) === 0) {
        throw new Error(`world with port faults: ${call} was armed on ${node} but no call hit it`);
      }
    }
  }
  return run;
}

/** A torrent seeded by `node` from `/x/<name>`: one data file, no index unless given. */
function seedLooseTorrent(h: Harness, nodeId: string, name: string, fill: number): Promise<string> {
  const n = h.node(nodeId);
  const data = new Uint8Array(h.options.pieceLength).fill(fill);
  n.adapters.fs.mkdirp(`/x/${name}`);
  n.adapters.fs.writeAtomic(`/x/${name}/data`, data);
  const torrent = buildTorrentFile(name, h.options.pieceLength, [{ path: 'data', bytes: data }]);
  const magnet = magnetFor(parseTorrentFile(torrent).infoHash, name);
  return n.adapters.torrent.seed(torrent, '/x').then(() => magnet);
}

/** The worlds that drive the machines; each is a named script on the harness. */
export const WORLDS: [string, () => Promise<WorldRun>][] = [
  [
    'weekly rounds, a late joiner',
    () => drive({ durationMs: 22 * DAY, members: [{}, { joinAt: 15 * DAY }] }),
  ],
  ['a community without messages', () => drive({ durationMs: 15 * DAY, messagesPerDay: 0 })],
  [
    'owner crash and restart before and after a round',
    () =>
      drive({ durationMs: 30 * DAY }, (h) => {
        h.at(3 * DAY, () => h.crash('owner'));
        h.at(3 * DAY + HOUR, () => h.restart('owner'));
        h.at(8 * DAY, () => h.crash('owner'));
        h.at(16 * DAY, () => h.restart('owner'));
        h.at(20 * DAY, () => h.crash('owner'));
        h.at(22 * DAY, () => h.restart('owner'));
      }),
  ],
  [
    'spec timing: links and a join response while waiting after the last magnetlink',
    () =>
      drive({ options: { magnetlinkWaitMs: 20 * SECOND } }, (h) => {
        const again = (offset: number, clockDelta: number) =>
          h.at(WEEK + offset, () => {
            const link = h.summary().magnetlinks.at(-1);
            if (link) publishMagnetlink(h, 'owner', h.communityKey, link.clock + clockDelta, link.magnetUri);
          });
        again(3 * SECOND, 1); // newer clock: accepted, the wait starts again
        again(6 * SECOND, -1000); // older clock: ignored
        h.at(WEEK + 9 * SECOND, () => {
          const link = h.summary().magnetlinks.at(-1);
          if (link) h.members[1]?.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
        });
        // a newer link while m2's task (started by the join response) runs: back to the wait
        again(12 * SECOND, 2);
      }),
  ],
  [
    'protocol disabled and enabled, support toggled, leave and join',
    () =>
      drive({ durationMs: 16 * DAY }, (h) => {
        h.at(2 * DAY, () => h.members[0]?.archive?.disableProtocol());
        h.at(3 * DAY, () => h.members[0]?.archive?.enableProtocol());
        h.at(4 * DAY, () => h.owner.archive?.setArchiveSupport(h.communityId, false));
        h.at(5 * DAY, () => h.owner.archive?.setArchiveSupport(h.communityId, true));
        h.at(WEEK + 2 * DAY, () => h.members[1]?.archive?.leave(h.communityId));
        h.at(WEEK + 3 * DAY, () => h.members[1]?.archive?.join(h.community));
        h.at(WEEK + 4 * DAY, () => h.members[0]?.archive?.setImportRate('fast'));
      }),
  ],
  [
    'a node starting with the protocol off',
    () =>
      drive({ members: [{ protocolEnabled: false }] }, (h) => {
        h.at(HOUR, () => {
          h.members[0]?.archive?.join(h.community);
          h.members[0]?.archive?.setArchiveSupport(h.communityId, true);
          h.members[0]?.archive?.send({ type: 'NETWORK.OFFLINE' });
          h.members[0]?.archive?.send({ type: 'NETWORK.ONLINE' });
        });
        h.at(DAY, () => h.members[0]?.archive?.enableProtocol());
      }),
  ],
  [
    'a magnet nobody seeds (metadata timeout and retry), a torrent without index, a torrent of another folder',
    () =>
      drive({ durationMs: 2 * DAY, members: 2, messagesPerDay: 0 }, (h) => {
        h.at(HOUR, () =>
          h.members[0]?.archive?.requestToJoinResponse(
            h.communityId,
            magnetFor('ab'.repeat(20), h.communityId),
          ),
        );
        h.at(DAY, () => {
          void seedLooseTorrent(h, 'm2', h.communityId, 7).then((magnet) => {
            h.members[0]?.archive?.requestToJoinResponse(h.communityId, magnet);
          });
        });
        // §6.2 + security: the metadata names another folder; the member refuses it
        h.at(DAY + HOUR, () => {
          void seedLooseTorrent(h, 'm2', 'elsewhere', 9).then((magnet) => {
            h.members[0]?.archive?.requestToJoinResponse(h.communityId, magnet);
          });
        });
      }),
  ],
  ...(
    [
      [true, 0],
      [true, HOUR],
      [false, 0],
    ] as const
  ).map(([forever, retryMs]): [string, () => Promise<WorldRun>] => [
    `an archive that does not decode (retry forever: ${forever}, extra wait ${retryMs} ms)`,
    () =>
      drive(
        {
          // the import starts at WEEK + 4 min; retries on the 100 ms tick for a minute, or hourly
          durationMs: WEEK + (retryMs > 0 ? 2 * HOUR + 5 * MINUTE : 5 * MINUTE),
          members: [{ joinAt: WEEK - MINUTE }],
          options: { retryCorruptArchiveForever: forever, corruptArchiveRetryMs: retryMs },
        },
        (h) =>
          h.at(WEEK + MINUTE, () => {
            const m = h.members[0];
            if (!m) return;
            const path = `/data/${h.communityId}/data`;
            m.adapters.fs.writeAtomic(path, new Uint8Array(m.adapters.fs.size(path)).fill(0xff));
          }),
      ),
  ]),
  [
    'after a download: a member no longer on the member list, and one knowing more archives than the index',
    async () => {
      const fake = `0x${'11'.repeat(32)}`;
      const run = await drive(
        { durationMs: WEEK + 2 * DAY, members: [{ downloadBps: 2_000 }, {}, {}] },
        (h) => {
          // m3, off the member list after its download, reads the same index again: nothing new
          h.at(WEEK + DAY, () => {
            const m3 = h.members[2];
            const link = h.summary().magnetlinks.at(-1);
            if (!m3 || !link) return;
            m3.archive?.join({ ...h.community, member: false });
            m3.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
          });
          // m1 downloads slowly; it is removed from the member list before its download ends
          h.at(WEEK + 5 * SECOND, () => h.members[0]?.archive?.join({ ...h.community, member: false }));
          // m2 has round 1 and one more (counts differ, nothing missing): started and seeding
          h.at(WEEK + DAY, () => {
            const m2 = h.members[1];
            const link = h.summary().magnetlinks.at(-1);
            if (!m2 || !link) return;
            m2.adapters.storage.markArchiveDownloaded(h.communityId, { id: fake, from: 1, to: 2 });
            m2.adapters.storage.markArchiveImported(h.communityId, fake);
            m2.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
          });
        },
      );
      const log = (i: number) => run.harness.members[i]?.log ?? [];
      const ends = log(0).filter((s) => s.type === 'archive.taskEnded');
      const started = log(1).filter((s) => s.type === 'community.downloadingHistoryArchivesStarted');
      if (
        ends.at(-1)?.type !== 'archive.taskEnded' ||
        ends.at(-1)?.status !== 'notMember' ||
        started.length !== 2
      )
        throw new Error(
          'world after a download: m1 did not end notMember or m2 did not signal its empty download',
        );
      return run;
    },
  ],
  [
    'a member crashes mid-import, is kicked meanwhile, and its restart fails (§6.4)',
    async () => {
      let restarted: ArchiveNode | undefined;
      const run = await drive({ durationMs: WEEK + HOUR, members: 1, messagesPerDay: 60 }, (h) => {
        h.at(WEEK + 2 * SECOND, () => h.crash('m1'));
        h.at(WEEK + 10 * MINUTE, () => {
          const m1 = h.node('m1');
          m1.sim.restart();
          restarted = createArchiveNode({
            nodeId: 'm1',
            adapters: m1.adapters,
            options: h.options,
            communities: [{ ...h.community, member: false }],
          });
        });
      });
      if (restarted?.state() !== 'failed')
        throw new Error('world with a kicked member: its restart did not fail');
      return run;
    },
  ],
  [
    'a torrent of an archive without messages (imported at once)',
    async () => {
      const run = await drive(
        { durationMs: 2 * DAY, members: [{}, { communities: [] }], messagesPerDay: 0 },
        (h) => {
          const from = Math.floor(h.start / 1000);
          h.at(HOUR, () => {
            void seedEmptyArchive(h, 'm2', from, from + 3600).then((magnet) =>
              h.members[0]?.archive?.requestToJoinResponse(h.communityId, magnet),
            );
          });
        },
      );
      const imported = run.harness.members[0]?.log.filter((s) => s.type === 'archive.archiveImported') ?? [];
      if (imported.length !== 1) throw new Error('world with an empty archive: it was not imported');
      return run;
    },
  ],
  [
    'an encrypted community whose archive key arrives after the download (§6.4)',
    () => {
      const memberCodec = ratchet();
      return drive(
        {
          durationMs: WEEK + 2 * HOUR,
          members: [{ joinAt: WEEK - MINUTE, codec: memberCodec }],
          codec: ratchet(),
        },
        (h) => {
          // the index decoded during the download; the key of its archive is not known yet
          h.at(WEEK + MINUTE, () => {
            memberCodec.keyKnown = false;
          });
          h.at(WEEK + 30 * MINUTE, () => {
            memberCodec.keyKnown = true;
          });
        },
      );
    },
  ],
  [
    'the host marks the community not joined while an import waits for its delay',
    () =>
      drive({ durationMs: WEEK + HOUR, members: [{ joinAt: WEEK - MINUTE }] }, (h) => {
        // COMMUNITY.JOIN with `joined: false` updates the node's view of the community
        // (the §5.5 lookup fails) without a leave; the import stops at its next pick (§6.3).
        h.at(WEEK + 2 * MINUTE, () => h.members[0]?.archive?.join({ ...h.community, joined: false }));
      }),
  ],
  [
    'a newer magnetlink during a download, and a member already up to date',
    () =>
      drive({ durationMs: 16 * DAY, members: [{ importRate: 'slow' }, {}] }, (h) => {
        h.at(WEEK + 2 * SECOND, () => {
          const link = h.summary().magnetlinks.at(-1);
          if (link) h.members[0]?.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
        });
        h.at(WEEK + 4 * SECOND, () => {
          // a stale copy of the link (older clock) while the task runs: ignored
          const link = h.summary().magnetlinks.at(-1);
          if (link) publishMagnetlink(h, 'owner', h.communityKey, link.clock - 1000, link.magnetUri);
        });
        h.at(WEEK + DAY, () => {
          const link = h.summary().magnetlinks.at(-1);
          if (link) h.members[1]?.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
        });
      }),
  ],
  [
    "the running download's own link re-announced, with restartTaskOnSameLink off",
    async () => {
      const run = await drive(
        {
          durationMs: 8 * DAY,
          members: [{ downloadBps: 2000 }],
          options: { restartTaskOnSameLink: false },
        },
        (h) =>
          h.at(WEEK + 10 * SECOND, () => {
            // a restarting owner announces the unchanged torrent again, with a newer clock
            const link = h.summary().magnetlinks.at(-1);
            if (link) publishMagnetlink(h, 'owner', h.communityKey, link.clock + 1000, link.magnetUri);
          }),
      );
      const m1 = run.harness.node('m1').log;
      const copies = m1.filter((s) => s.type === 'archive.magnetlinkReceived' && s.accepted).length;
      const cancelled = m1.filter((s) => s.type === 'archive.taskEnded' && s.status === 'cancelled').length;
      if (copies < 2 || cancelled > 0)
        throw new Error(
          `the re-announced link should leave the task running (${copies} accepted, ${cancelled} cancelled)`,
        );
      return run;
    },
  ],
  [
    'a member crashes during its import and resumes it on restart',
    () =>
      drive({ durationMs: 8 * DAY, members: 1, messagesPerDay: 60 }, (h) => {
        h.at(WEEK + 2 * SECOND, () => h.crash('m1'));
        h.at(WEEK + 10 * MINUTE, () => h.restart('m1'));
      }),
  ],
  [
    'stopping the nodes',
    () =>
      drive({ durationMs: 9 * DAY }, (h) => {
        h.at(8 * DAY, () => {
          void h.owner.archive?.stop();
          void h.members[0]?.archive?.stop();
        });
      }),
  ],
  [
    'port faults: the torrent client fails to start and to stop',
    () =>
      driveWithFaults(
        { durationMs: 2 * DAY, members: 1, messagesPerDay: 0 },
        (h, fault) => {
          const m1 = () => h.members[0]?.archive;
          fault('m1', 'torrent.start'); // at boot: enabling fails
          h.at(HOUR, () => m1()?.enableProtocol());
          h.at(2 * HOUR, () => {
            fault('m1', 'torrent.stop');
            m1()?.disableProtocol(); // disabling: closing the client fails
          });
          h.at(3 * HOUR, () => m1()?.enableProtocol());
          h.at(DAY, () => {
            fault('m1', 'torrent.stop');
            void m1()?.stop(); // stopping: closing the client fails
          });
        },
        { m1: ['torrent.start', 'torrent.stop'] },
      ),
  ],
  [
    'port faults: the control node cannot seed a round, then cannot seed at start-up',
    () =>
      driveWithFaults(
        { durationMs: WEEK + 2 * HOUR, members: 1 },
        (h, fault) => {
          h.at(WEEK - MINUTE, () => fault('owner', 'torrent.seed'));
          h.at(WEEK + HOUR, () => h.crash('owner'));
          h.at(WEEK + HOUR + MINUTE, () => {
            fault('owner', 'torrent.seed');
            h.restart('owner');
          });
        },
        { owner: ['torrent.seed'] },
      ),
  ],
  [
    "port faults: the owner's round cannot be written, then not dispatched; at restarts its announce and its catch-up fail",
    () =>
      driveWithFaults(
        { durationMs: 2 * WEEK + 4 * HOUR, members: 1 },
        (h, fault) => {
          h.at(WEEK - MINUTE, () => fault('owner', 'fs.append')); // creating the round fails
          h.at(2 * WEEK - MINUTE, () => fault('owner', 'messaging.publish')); // its dispatch fails
          h.at(2 * WEEK + HOUR, () => h.crash('owner'));
          h.at(2 * WEEK + HOUR + MINUTE, () => {
            fault('owner', 'messaging.publish'); // announcing the torrent it has fails
            h.restart('owner');
          });
          h.at(2 * WEEK + 2 * HOUR, () => h.crash('owner'));
          h.at(2 * WEEK + 2 * HOUR + MINUTE, () => {
            fault('owner', 'storage.newestMessageTimestamp'); // the store catch-up fails
            h.restart('owner');
          });
        },
        { owner: ['fs.append', 'messaging.publish', 'storage.newestMessageTimestamp'] },
      ),
  ],
  [
    "port faults: a member's metadata, then its index fetch fails; the host switches the import rate mid-archive",
    () =>
      driveWithFaults(
        { durationMs: 3 * WEEK + HOUR, members: [{ importRate: 'slow' }] },
        (h, fault) => {
          h.at(WEEK - MINUTE, () => fault('m1', 'download.metadata'));
          h.at(2 * WEEK - MINUTE, () => fault('m1', 'download.downloadFile'));
          // the third link brings three weeks: ~60 chunks at 1 chunk/s
          h.at(3 * WEEK + 30 * SECOND, () => h.members[0]?.archive?.setImportRate('fast'));
        },
        { m1: ['download.metadata', 'download.downloadFile'] },
      ),
  ],
  [
    "port faults at the owner's restarts: its wait for the store, its store query, its second seed, its second announce",
    async () => {
      // Each restart is within the interval (the last round ended at WEEK): the start-up seeds
      // the torrent twice (§5.4 quirk). A seed fault armed on the first seeding hits the
      // second; a publish fault armed on the catch-up hits the second announce.
      let harness: Harness | undefined;
      let armOnSeed: PortCall | undefined;
      const arm = (call: PortCall) =>
        harness &&
        applyAction(
          { at: 0, do: 'portFault', node: 'owner', call, mode: 'fail', times: 1 },
          harnessRunContext(harness),
        );
      const restart = (h: Harness, at: number, before: () => void) => {
        h.at(at, () => h.crash('owner'));
        h.at(at + MINUTE, () => {
          before();
          h.restart('owner');
        });
      };
      const run = await drive(
        {
          durationMs: WEEK + 5 * HOUR,
          members: 1,
          portFaults: true,
          onSignal: (n, s) => {
            if (n.id !== 'owner' || !armOnSeed) return;
            const call = armOnSeed;
            if (
              (call === 'torrent.seed' && s.type === 'archive.torrentSeeded') ||
              // the catch-up comes between the first announce and the second
              (call === 'messaging.publish' && s.type === 'archive.storeQueried')
            ) {
              armOnSeed = undefined;
              arm(call);
            }
          },
        },
        (h) => {
          harness = h;
          restart(h, WEEK + HOUR, () => arm('messaging.whenStoreAvailable'));
          restart(h, WEEK + 2 * HOUR, () => arm('messaging.queryStore'));
          restart(h, WEEK + 3 * HOUR, () => {
            armOnSeed = 'torrent.seed';
          });
          restart(h, WEEK + 4 * HOUR, () => {
            armOnSeed = 'messaging.publish';
          });
        },
      );
      const faults = run.harness.node('owner').faults;
      for (const call of [
        'messaging.whenStoreAvailable',
        'messaging.queryStore',
        'torrent.seed',
        'messaging.publish',
      ] as const)
        if ((faults?.hits(call) ?? 0) === 0) throw new Error(`world with restart faults: ${call} never hit`);
      return run;
    },
  ],
  [
    'reference start-up quirks off: a restart within the interval seeds once; a failed catch-up still schedules the rounds',
    () =>
      driveWithFaults(
        {
          durationMs: WEEK + 3 * HOUR,
          members: 1,
          options: { seedTwiceAtStartup: false, storeFailureStopsArchiving: false },
        },
        (h, fault) => {
          h.at(WEEK + HOUR, () => h.crash('owner'));
          h.at(WEEK + HOUR + MINUTE, () => h.restart('owner'));
          h.at(WEEK + 2 * HOUR, () => h.crash('owner'));
          h.at(WEEK + 2 * HOUR + MINUTE, () => {
            fault('owner', 'storage.newestMessageTimestamp');
            h.restart('owner');
          });
        },
        { owner: ['storage.newestMessageTimestamp'] },
      ),
  ],
  [
    'every message is over the archive chunk limit: the round makes no archive and has nothing to seed',
    () =>
      drive({ durationMs: WEEK + HOUR, members: 1, messagesPerDay: 5, options: { maxArchiveChunk: 100 } }),
  ],
  [
    'port faults: a member cannot fetch the pieces of an archive, another cannot read its keys when seeding',
    () =>
      driveWithFaults(
        { durationMs: WEEK + HOUR, members: 2 },
        (h, fault) => {
          h.at(WEEK - MINUTE, () => {
            fault('m1', 'download.downloadPieces');
            fault('m2', 'keys.communityPrivateKey');
          });
        },
        { m1: ['download.downloadPieces'], m2: ['keys.communityPrivateKey'] },
      ),
  ],
  [
    '§5.5 bug switch with the community actors alive: the host marks the community not joined',
    async () => {
      // The closest the host can come to a NodeFault in a running community actor: its
      // lookup fails while the actor runs (a leave or delete would stop it first). Seeding
      // at start-up, in a round, and at the end of a member's download each hit the fault.
      let harness: Harness | undefined;
      const notJoined = (id: string) => {
        if (harness) harness.node(id).archive?.join({ ...harness.community, joined: false });
      };
      /** Nodes to mark not joined as soon as their community actors run (before any seeding). */
      const onEnable = new Set<string>();
      const run = await drive(
        {
          durationMs: 2 * WEEK + HOUR,
          members: 1,
          options: { crashOnMissingCommunity: true },
          onSignal: (n, s) => {
            if (s.type === 'community.historyArchivesProtocolEnabled' && onEnable.delete(n.id))
              notJoined(n.id);
          },
        },
        (h) => {
          harness = h;
          h.at(WEEK - MINUTE, () => notJoined('m1')); // the member's seeding after its download
          h.at(WEEK + HOUR, () => h.crash('owner'));
          h.at(WEEK + HOUR + MINUTE, () => {
            onEnable.add('owner'); // the control node's seeding at start-up (§5.4)
            h.restart('owner');
          });
          h.at(WEEK + 2 * HOUR, () => h.crash('owner'));
          h.at(WEEK + 2 * HOUR + MINUTE, () => h.restart('owner'));
          h.at(2 * WEEK - MINUTE, () => notJoined('owner')); // the control node's seeding in a round
        },
      );
      const failures = (id: string) =>
        run.harness.node(id).log.filter((s) => s.type === 'archive.nodeFailed').length;
      if (failures('m1') !== 1 || failures('owner') !== 2) {
        throw new Error(
          `§5.5 with live actors: expected 1 member and 2 owner failures, got ${failures('m1')} and ${failures('owner')}`,
        );
      }
      return run;
    },
  ],
  [
    '§5.5 bug switch: the community is deleted while the torrent starts seeding',
    () =>
      drive(
        {
          durationMs: WEEK + HOUR,
          members: 1,
          options: { crashOnMissingCommunity: true },
        },
        (h) => {
          // the owner's torrent client takes a second to start seeding (as a real one does)
          applyAction({ at: 0, do: 'network', conditions: { seedDelay: SECOND } }, harnessRunContext(h));
          h.at(WEEK + SECOND / 2, () => h.owner.archive?.deleteCommunity(h.communityId));
        },
      ),
  ],
  ...CID_WORLDS,
];
