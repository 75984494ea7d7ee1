// Every archive a control node of the run created, by id, from the owners' `roundCreated`
// and `cidRoundCreated` observations: its range, its place in `data` (torrent) or its cid
// (content-addressed), and when it was made. Monitors and the result look archives up here
// (an `archiveImported` names only the id).

import type { ArchiveSummary, NodeSignal } from '../../machines/signals.ts';

export interface CatalogedArchive extends ArchiveSummary {
  communityId: string;
  /** Harness id of the control node that created it. */
  creator: string;
  /** Virtual ms of its round. */
  createdAt: number;
  /** A content-addressed archive's cid (then `offset` and `padding` are 0 and `size` its stored bytes). */
  cid?: string;
}

export class ArchiveCatalog {
  readonly #byId = new Map<string, CatalogedArchive>();
  readonly #listeners: ((a: CatalogedArchive) => void)[] = [];

  /** Pass every node signal; rounds are cataloged, the rest is ignored. */
  onSignal(nodeId: string, s: NodeSignal): void {
    if (s.type === 'archive.roundCreated') {
      for (const a of s.archives)
        this.#add({ ...a, communityId: s.communityId, creator: nodeId, createdAt: s.t });
    } else if (s.type === 'archive.cidRoundCreated') {
      for (const a of s.archives) {
        const { id, cid, from, to, messages, bytes } = a;
        this.#add({
          id,
          cid,
          from,
          to,
          messages,
          offset: 0,
          size: bytes,
          padding: 0,
          communityId: s.communityId,
          creator: nodeId,
          createdAt: s.t,
        });
      }
    }
  }

  #add(entry: CatalogedArchive): void {
    if (this.#byId.has(entry.id)) return;
    this.#byId.set(entry.id, entry);
    for (const l of this.#listeners) l(entry);
  }

  get(id: string): CatalogedArchive | undefined {
    return this.#byId.get(id);
  }

  /** Called for each archive as it is cataloged. */
  onArchive(listener: (a: CatalogedArchive) => void): void {
    this.#listeners.push(listener);
  }
}
