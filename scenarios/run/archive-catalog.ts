// Every archive a control node of the run created, by id, from the owners' `roundCreated`
// observations: its range, its place in `data` and when it was made. Monitors and the
// result look archives up here (an `archiveImported` names only the id).

import type { ArchiveSummary, NodeSignal } from '../../machines/signals.ts';

export interface CatalogedArchive extends ArchiveSummary {
  communityId: string;
  /** Harness id of the control node that created it. */
  creator: string;
  /** Virtual ms of its round. */
  createdAt: number;
}

export class ArchiveCatalog {
  readonly #byId = new Map<string, CatalogedArchive>();
  readonly #listeners: ((a: CatalogedArchive) => void)[] = [];

  /** Pass every node signal; rounds are cataloged, the rest is ignored. */
  onSignal(nodeId: string, s: NodeSignal): void {
    if (s.type !== 'archive.roundCreated') return;
    for (const a of s.archives) {
      if (this.#byId.has(a.id)) continue;
      const entry = { ...a, communityId: s.communityId, creator: nodeId, createdAt: s.t };
      this.#byId.set(a.id, entry);
      for (const l of this.#listeners) l(entry);
    }
  }

  get(id: string): CatalogedArchive | undefined {
    return this.#byId.get(id);
  }

  /** Called for each archive as it is cataloged. */
  onArchive(listener: (a: CatalogedArchive) => void): void {
    this.#listeners.push(listener);
  }
}
