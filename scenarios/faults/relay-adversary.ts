// Links on the magnetlink channel that no honest control node sent (§6.1, §10.5): a
// member's link signed with its own key, an earlier dispatched link sent again, and a
// link (signed by the community) to a torrent that lacks the `index` file (§6.2 step 2).

import { hexDigits } from '../../proto/hex.ts';
import { communityIdOf, generateCommunityKey } from '../../proto/signing.ts';
import { buildTorrentFile, magnetFor } from '../../sim/torrent-file.ts';
import type { ActionHandler, FaultKind } from './fault-kind.ts';

export const forgeMagnetlink: FaultKind = {
  name: 'forgeMagnetlink',
  summary: 'a member sends a magnetlink signed with its own key',
  actsOn: 'relay adversary',
  knobs: { node: 'the forging member' },
  persistent: false,
  drawnByDefault: true,
  draw: (_f, { member, community, at }) =>
    member ? [{ at, do: 'forgeMagnetlink', node: member.name, community }] : [],
  mark: (a) => (a.do === 'forgeMagnetlink' ? { subject: a.node, edge: 'instant' } : undefined),
};

export const replayMagnetlink: FaultKind = {
  name: 'replayMagnetlink',
  summary: 'an earlier dispatched magnetlink is sent again, unchanged',
  actsOn: 'relay adversary',
  knobs: { node: 'who sends it (default the first member)', amount: 'even: the first link, odd: the latest' },
  persistent: false,
  drawnByDefault: true,
  draw: (f, { member, community, at }) => [
    {
      at,
      do: 'replayMagnetlink',
      community,
      link: f.amount % 2 === 0 ? 0 : -1,
      ...(member ? { node: member.name } : {}),
    },
  ],
  mark: (a) =>
    a.do === 'replayMagnetlink'
      ? { subject: a.node ?? 'network', edge: 'instant', detail: `link ${a.link}` }
      : undefined,
};

export const dispatchWithoutIndex: FaultKind = {
  name: 'dispatchWithoutIndex',
  summary: 'an owner announces a torrent that has no index file',
  actsOn: 'relay adversary',
  knobs: { node: 'the announcing owner' },
  persistent: false,
  drawnByDefault: true,
  draw: (_f, { owner, community, at }) => [{ at, do: 'dispatchWithoutIndex', node: owner.name, community }],
  mark: (a) => (a.do === 'dispatchWithoutIndex' ? { subject: a.node, edge: 'instant' } : undefined),
};

export const adversaryHandlers: {
  forgeMagnetlink: ActionHandler<'forgeMagnetlink'>;
  replayMagnetlink: ActionHandler<'replayMagnetlink'>;
  dispatchWithoutIndex: ActionHandler<'dispatchWithoutIndex'>;
} = {
  forgeMagnetlink: (a, run) => {
    // The member signs with a key of its own: the signer is not the community.
    const c = run.community(a.community);
    const own = generateCommunityKey(run.world.rng(`scenario.forge.${a.node}`).bytes(32));
    const latest = run.adversary.dispatched(c.id).at(-1)?.magnetUri;
    const magnetUri =
      latest ?? magnetFor(hexDigits(run.world.rng('scenario.forge.uri').bytes(20)), communityIdOf(own));
    run.adversary.send(c, run.plan.id(a.node), own, run.world.kernel.now(), magnetUri, 'forged');
  },
  replayMagnetlink: (a, run) => {
    const c = run.community(a.community);
    const dispatched = run.adversary.dispatched(c.id);
    const link = a.link < 0 ? dispatched.at(a.link) : dispatched[a.link];
    if (!link) {
      run.skipped(a, 'no such dispatched link yet');
      return;
    }
    const { plan } = run;
    const firstMember = plan.others.find(
      (n) => n.role === 'member' && plan.joinedAtStart(n).includes(c.index),
    );
    const from = a.node ? plan.id(a.node) : firstMember ? plan.id(firstMember.name) : 'owner';
    // The same signed message again: signing is deterministic (RFC 6979), so re-encoding
    // the recorded clock and link with the community key gives the original bytes.
    run.adversary.send(c, from, c.key, link.clock, link.magnetUri, 'replayed');
  },
  dispatchWithoutIndex: (a, run) => {
    const c = run.community(a.community);
    const ownerNode = run.h.node(run.plan.id(a.node));
    const { fs, torrent, storage } = ownerNode.adapters;
    if (!torrent.running) {
      run.skipped(a, 'torrent client not running');
      return;
    }
    const parent = '/malformed';
    const folder = `${parent}/${c.id}`;
    fs.mkdirp(folder);
    if (!fs.exists(`${folder}/data`))
      fs.writeAtomic(`${folder}/data`, run.world.rng('scenario.malformed').bytes(run.h.options.pieceLength));
    const file = buildTorrentFile(c.id, run.h.options.pieceLength, [
      { path: 'data', bytes: fs.read(`${folder}/data`) },
    ]);
    const clock = Math.max(run.world.kernel.now(), (storage.getArchiveState(c.id).magnetlinkClock ?? 0) + 1);
    void torrent.seed(file, parent).then((infoHash) => {
      run.adversary.send(c, ownerNode.id, c.key, clock, magnetFor(infoHash, c.id), 'withoutIndex');
    });
  },
};
