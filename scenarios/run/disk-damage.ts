// `corruptStoredArchive`: a node's disk damages the archive it is about to import. The
// action arms (node, community); the member's next "seeding" signal (§6.2 step 6: every
// archive of the task is downloaded and verified, the import comes next) overwrites the
// first bytes of its oldest downloaded-not-imported archive in `data`. The damage stays:
// a later torrent only fetches the pieces of archives the member lacks.

import type { SimWorld } from '../../adapters/sim/world.ts';
import { type ArchiveCodec, communityFolder, readIndex } from '../../archive/index.ts';
import type { HarnessNode } from '../harness.ts';
import { memberKey } from './membership.ts';

export class DiskDamage {
  readonly #armed = new Set<string>();
  readonly #damaged = new Set<string>();
  readonly #codec: ArchiveCodec | undefined;
  readonly #nameOf: (nodeId: string) => string;

  constructor(codec: ArchiveCodec | undefined, nameOf: (nodeId: string) => string) {
    this.#codec = codec;
    this.#nameOf = nameOf;
  }

  arm(nodeId: string, communityId: string): void {
    this.#armed.add(memberKey(nodeId, communityId));
  }

  /** The node's disk lost a file of the community's archive folder (`deleteFile`). */
  lost(nodeId: string, communityId: string): void {
    this.#damaged.add(memberKey(nodeId, communityId));
  }

  /** Whether this node's disk destroyed an archive of the community it had verified. */
  damaged(nodeId: string, communityId: string): boolean {
    return this.#damaged.has(memberKey(nodeId, communityId));
  }

  /** On a member's seeding signal: damage the archive waiting for import, when armed. */
  onSeeding(n: HarnessNode, communityId: string, w: SimWorld): void {
    const key = memberKey(n.id, communityId);
    if (!this.#armed.has(key)) return;
    const { fs, dataDir, storage } = n.adapters;
    const target = storage.archives(communityId).find((a) => !a.imported);
    if (!target) return; // nothing waits for import: stay armed
    const folder = communityFolder(dataDir, communityId);
    const entry = readIndex(fs, folder, this.#codec).archives.get(target.id);
    if (!entry || !fs.exists(`${folder}/data`)) return;
    const bytes = fs.read(`${folder}/data`);
    bytes.fill(0xff, entry.offset, Math.min(entry.offset + 16, entry.offset + entry.size - entry.padding));
    fs.writeAtomic(`${folder}/data`, bytes);
    this.#armed.delete(key);
    this.#damaged.add(key);
    w.trace.record('scenario.corrupted', { node: this.#nameOf(n.id), archive: target.id });
  }
}
