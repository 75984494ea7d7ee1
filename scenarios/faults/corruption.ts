// Damaged bytes: pieces a seeder sends go bad on the wire (SHA-1 catches them and the
// piece is fetched again), or a member's disk damages an archive it already verified,
// before its import (nothing in the protocol repairs that; §6.3 retries or skips it).

import type { ActionHandler, FaultKind } from './fault-kind.ts';

export const corruptPieces: FaultKind = {
  name: 'corruptPieces',
  summary: 'the next pieces a node uploads arrive corrupted',
  actsOn: 'swarm',
  knobs: { node: 'the uploading node', amount: 'pieces = 1 + amount mod 8 (at least 1)' },
  persistent: false,
  drawnByDefault: true,
  draw: (f, { anyNode, community, at }) => [
    { at, do: 'corruptPieces', node: anyNode.name, community, pieces: Math.max(1, f.amount % 8) },
  ],
  mark: (a) =>
    a.do === 'corruptPieces' ? { subject: a.node, edge: 'instant', detail: `${a.pieces} pieces` } : undefined,
};

export const corruptStoredArchive: FaultKind = {
  name: 'corruptStoredArchive',
  summary: "a member's next downloaded archive goes bad on its disk before its import",
  actsOn: 'disk',
  knobs: { node: 'the member (one-shot)' },
  persistent: false,
  drawnByDefault: true,
  draw: (_f, { member, community, at }) =>
    member ? [{ at, do: 'corruptStoredArchive', node: member.name, community }] : [],
  mark: (a) => (a.do === 'corruptStoredArchive' ? { subject: a.node, edge: 'instant' } : undefined),
};

export const corruptionHandlers: {
  corruptPieces: ActionHandler<'corruptPieces'>;
  corruptStoredArchive: ActionHandler<'corruptStoredArchive'>;
} = {
  corruptPieces: (a, run) => run.world.swarm.corruptNextPiece(run.plan.id(a.node), a.pieces),
  corruptStoredArchive: (a, run) => run.disk.arm(run.plan.id(a.node), run.community(a.community).id),
};
