// Several control nodes (§9: the community key was exported): a second owner that holds
// the key creates and announces its own archives, whose indices diverge from the first's.
// It shapes the community, not the timeline: the explorer adds a second owner node.

import type { FaultKind } from './fault-kind.ts';

export const secondControlNode: FaultKind = {
  name: 'secondControlNode',
  summary: 'a second node holds the community key and runs as a control node too',
  actsOn: 'community',
  knobs: {},
  persistent: false,
  drawnByDefault: true,
};
