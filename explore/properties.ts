// The names of the properties an explored run is judged by (explore/property.ts).

import { INVARIANTS } from '../machines/invariants.ts';

export const PROPERTIES = [...INVARIANTS, 'noMissedArchives', 'noNodeFailure'] as const;
export type PropertyName = (typeof PROPERTIES)[number];
