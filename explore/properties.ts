// The names of the properties an explored run is judged by (explore/property.ts), in the
// order they are judged: the safety invariants of §10 (1–8), then a node actor failing
// (also safety: its consequences, such as a member that never converges, come after it),
// then liveness — §10.9 convergence, no archives missed on "no new archives", no import
// stuck on one archive.

import { INVARIANTS, type InvariantName } from '../machines/invariants.ts';

const SAFETY = INVARIANTS.filter((n): n is Exclude<InvariantName, 'convergence'> => n !== 'convergence');

export const PROPERTIES = [
  ...SAFETY,
  'noNodeFailure',
  'convergence',
  'noMissedArchives',
  'noStuckImport',
] as const;
export type PropertyName = (typeof PROPERTIES)[number];
