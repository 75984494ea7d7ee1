// Member cohorts (`members:` in a scenario file): many members described once, expanded
// into nodes when the file is loaded, so every later step (the runner, expectations,
// traces, replay) sees plain nodes. A cohort of `count` members named `<name>1` …
// `<name><count>` shares its settings; `joinAt: {from, to}` spreads their joins evenly over
// the range, both ends included (the first joins at `from`, the last at `to`).

export interface CohortSpec {
  count: number;
  name: string;
  joinAt: number | { from: number; to: number };
  communities?: string[];
  protocolEnabled: boolean;
  archiveSupport: boolean;
  importRate?: 'slow' | 'fast';
  archiveBackend?: 'torrent' | 'cid' | 'both';
}

/** The node of a cohort member, as a `nodes` entry reads once normalized. */
export interface CohortNode {
  name: string;
  role: 'member';
  communities?: string[];
  joinAt: number;
  protocolEnabled: boolean;
  archiveSupport: boolean;
  importRate?: 'slow' | 'fast';
  archiveBackend?: 'torrent' | 'cid' | 'both';
}

/** Name of member `i` (0-based) of a cohort. */
export function cohortMemberName(cohort: Pick<CohortSpec, 'name'>, i: number): string {
  return `${cohort.name}${i + 1}`;
}

/** When member `i` (0-based) of a cohort comes up (ms offset). */
export function cohortJoinAt(cohort: Pick<CohortSpec, 'count' | 'joinAt'>, i: number): number {
  const j = cohort.joinAt;
  if (typeof j === 'number') return j;
  if (cohort.count <= 1) return j.from;
  return j.from + Math.floor(((j.to - j.from) * i) / (cohort.count - 1));
}

/** Every member of a cohort as a node. */
export function cohortNodes(cohort: CohortSpec): CohortNode[] {
  return Array.from({ length: cohort.count }, (_, i) => ({
    name: cohortMemberName(cohort, i),
    role: 'member' as const,
    ...(cohort.communities ? { communities: cohort.communities } : {}),
    joinAt: cohortJoinAt(cohort, i),
    protocolEnabled: cohort.protocolEnabled,
    archiveSupport: cohort.archiveSupport,
    ...(cohort.importRate ? { importRate: cohort.importRate } : {}),
    ...(cohort.archiveBackend ? { archiveBackend: cohort.archiveBackend } : {}),
  }));
}
