// The worlds of the model-based tests that drive the content-addressed path of the member
// machine (machines/content-archive-service.ts): rounds and late joiners on index cids, an
// index read again (nothing new, and off the member list), a member knowing more archives
// than the index, and the fetches that fail or time out. Each world throws when it did not
// do what its name says.

import { DAY, HOUR, SECOND } from '../machines/options.ts';
import type { NodeSignal } from '../machines/signals.ts';
import {
  createHarness,
  type Harness,
  type HarnessConfig,
  type HarnessMemberSpec,
  type HarnessNode,
} from '../scenarios/harness.ts';
import type { WorldRun } from './model-worlds.ts';

const WEEK = 7 * DAY;
const CID = { archiveBackends: 'cid' } as const;

async function driveCid(
  config: Partial<HarnessConfig> & { members: number | HarnessMemberSpec[] },
  script: (h: Harness) => void,
): Promise<WorldRun> {
  const { members, ...rest } = config;
  const specs: HarnessMemberSpec[] =
    typeof members === 'number' ? Array.from({ length: members }, () => ({})) : members;
  const h = await createHarness({
    seed: 13,
    messagesPerDay: 30,
    durationMs: WEEK + 2 * DAY,
    trafficTo: WEEK,
    ...rest,
    members: specs.map((m) => ({ ...m, options: { ...CID, ...m.options } })),
    ownerOptions: CID,
  });
  script(h);
  await h.run();
  return { harness: h };
}

const lastIndexCid = (h: Harness): string | undefined =>
  (
    h.owner.log.filter((s) => s.type === 'archive.indexCidDispatched').at(-1) as
      | { indexCid: string }
      | undefined
  )?.indexCid;

const endsOf = (n: HarnessNode): string[] =>
  n.log.flatMap((s: NodeSignal) => (s.type === 'archive.taskEnded' ? [s.status] : []));

/** Content the owner's store uploads and then drops: a valid cid no one serves. */
async function unservedCid(h: Harness): Promise<string> {
  const store = h.owner.adapters.content!;
  const cid = await store.upload(Uint8Array.of(1, 2, 3, 4));
  await store.drop(cid);
  return cid;
}

export const CID_WORLDS: [string, () => Promise<WorldRun>][] = [
  [
    'content-addressed: rounds, the index read again (nothing new, off the member list), a latest-only member with nothing to fetch',
    async () => {
      const run = await driveCid(
        {
          durationMs: 2 * WEEK + 2 * DAY,
          trafficTo: 2 * WEEK,
          // m3 joins after two rounds and fetches only the newest archive (§9 policy)
          members: [{}, {}, { joinAt: 2 * WEEK + HOUR, options: { downloadPolicy: 'latest' } }],
        },
        (h) => {
          h.at(2 * WEEK + DAY, () => {
            const link = lastIndexCid(h);
            const [m1, m2, m3] = h.members;
            if (!link || !m1 || !m2 || !m3) return;
            m1.archive?.requestToJoinResponse(h.communityId, link); // nothing new
            m2.archive?.join({ ...h.community, member: false });
            m2.archive?.requestToJoinResponse(h.communityId, link); // nothing new, not a member
            m3.archive?.requestToJoinResponse(h.communityId, link); // counts differ, nothing to fetch
          });
        },
      );
      const [m1, m2, m3] = run.harness.members as HarnessNode[];
      const ok =
        endsOf(m1!).at(-1) === 'noNewArchives' &&
        endsOf(m2!).at(-1) === 'notMember' &&
        m3!.log.filter((s) => s.type === 'community.downloadingHistoryArchivesStarted').length === 2 &&
        m3!.log.filter((s) => s.type === 'archive.archiveImported').length === 1;
      if (!ok)
        throw new Error(
          `content-addressed re-read world: ${[m1, m2, m3].map((m) => endsOf(m!)).join(' | ')}`,
        );
      return run;
    },
  ],
  [
    'content-addressed: an index that does not decode, a store stopped during the index and during the archives, an index no one serves',
    async () => {
      const config = {
        members: 4,
        // m3's store stops the moment its index is read: the archive phase fails
        onSignal: (n: HarnessNode, s: NodeSignal) => {
          if (n.id === 'm3' && s.type === 'archive.indexRead') void n.sim.sim.content.stop();
        },
      };
      const run = await driveCid(config, (h) => {
        const [m1, m2, , m4] = h.members as HarnessNode[];
        h.at(DAY, () => {
          void (async () => {
            const garbage = await h.owner.adapters.content!.upload(Uint8Array.of(0xff, 0xff, 0xff));
            m1!.archive?.requestToJoinResponse(h.communityId, garbage); // malformed
            const nobody = await unservedCid(h);
            m2!.archive?.requestToJoinResponse(h.communityId, nobody); // its store stops while it waits
            m4!.archive?.requestToJoinResponse(h.communityId, nobody); // 20 s, then timeout
          })();
        });
        h.at(DAY + 5 * SECOND, () => void m2!.sim.sim.content.stop());
      });
      const [m1, m2, m3, m4] = run.harness.members as HarnessNode[];
      const got = [m1, m2, m3, m4].map((m) => endsOf(m!)[0]);
      if (got.join() !== 'malformed,error,error,timeout')
        throw new Error(`content-addressed failures world: ${got.join()}`);
      return run;
    },
  ],
  [
    'content-addressed: a late joiner on a slow line, whose backlog outlasts the archive phase timer',
    async () => {
      const h = await createHarness({
        seed: 17,
        messagesPerDay: 40,
        durationMs: 3 * WEEK + DAY,
        trafficTo: 3 * WEEK,
        members: [{ joinAt: 3 * WEEK + HOUR, downloadBps: 20_000, options: CID }],
        ownerOptions: CID,
      });
      await h.run();
      if (!endsOf(h.members[0] as HarnessNode).includes('timeout'))
        throw new Error('content-addressed backlog world: no archive phase timeout');
      return { harness: h };
    },
  ],
];
