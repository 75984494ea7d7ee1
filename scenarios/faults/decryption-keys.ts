// Keys of an encrypted community a member does not have yet (§4, §6.4): the archives it
// downloaded do not decrypt until the keys arrive, and the reference retries the import
// every `missingKeyRetry` (1 h) meanwhile. Only in encrypted runs (scenarios/run/key-gate.ts).

import type { ActionHandler, FaultKind } from './fault-kind.ts';

export const lateKey: FaultKind = {
  name: 'lateKey',
  summary: 'a member lacks the decryption key of the archives until it arrives later',
  actsOn: 'keys',
  knobs: { node: 'the member', forMs: 'how long until the key arrives' },
  persistent: false,
  drawnByDefault: false,
  draw: (_f, { member, community, at, end }) =>
    member
      ? [
          { at, do: 'withholdKey', node: member.name, community },
          { at: end, do: 'keyArrives', node: member.name, community },
        ]
      : [],
};

export const keyHandlers: {
  withholdKey: ActionHandler<'withholdKey'>;
  keyArrives: ActionHandler<'keyArrives'>;
} = {
  withholdKey: (a, run) => {
    if (!run.keys) {
      run.skipped(a, 'the community is not encrypted');
      return;
    }
    run.keys.withhold(run.plan.id(a.node), run.community(a.community).id);
  },
  keyArrives: (a, run) => {
    if (!run.keys) {
      run.skipped(a, 'the community is not encrypted');
      return;
    }
    run.keys.arrive(run.plan.id(a.node), run.community(a.community).id);
  },
};
