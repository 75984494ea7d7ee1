// Decryption keys a member lacks, for encrypted communities (§4, §6.4). The community codec
// of the run (scenarios/sim-codec.ts) is one keystream every node holds; a gated node reads
// through a codec of its own that throws MissingKeyError for the archives whose key it
// lacks, as the reference's hash ratchet does for a message encrypted with a key the node
// has not received. The index is always readable: it is rewritten every round with the
// newest key, which a current member holds; what a member may lack are the keys of earlier
// archives. An archive is recognised by the SHA-256 of its stored bytes, taken from the
// control node's `data` when the round that made it is cataloged.
// - `withhold(node, community)`: from now on the node lacks the key of every archive of the
//   community, until `arrive(node, community)`;
// - `restored(node, at)`: a node restored from a backup lacks the keys of every archive made
//   before `at` (the backup holds no channel keys), until they arrive.

import { createHash } from 'node:crypto';
import { type ArchiveCodec, communityFolder, MissingKeyError } from '../../archive/index.ts';
import type { NodeAdapters } from '../../ports/index.ts';
import type { ArchiveCatalog, CatalogedArchive } from './archive-catalog.ts';
import { memberKey } from './membership.ts';

interface Lack {
  /** Lacks the keys of archives made before this virtual ms (Infinity: of every archive). */
  madeBefore: number;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export class KeyGate {
  readonly #codec: ArchiveCodec;
  readonly #byDigest = new Map<string, CatalogedArchive>();
  readonly #lacks = new Map<string, Lack>();

  constructor(codec: ArchiveCodec, catalog: ArchiveCatalog, adaptersOf: (nodeId: string) => NodeAdapters) {
    this.#codec = codec;
    catalog.onArchive((a) => {
      // Withheld keys gate the torrent's archives (read from `data`); a content-addressed
      // archive is not gated here.
      if (a.cid !== undefined) return;
      const { fs, dataDir } = adaptersOf(a.creator);
      const stored = fs.readRange(
        `${communityFolder(dataDir, a.communityId)}/data`,
        a.offset,
        a.size - a.padding,
      );
      this.#byDigest.set(sha256(stored), a);
    });
  }

  /** The codec a node reads through: the community codec, minus the keys it lacks. */
  codecFor(nodeId: string): ArchiveCodec {
    return {
      encode: (plain) => this.#codec.encode(plain),
      decode: (stored) => {
        if (this.#lacks.size > 0) {
          const a = this.#byDigest.get(sha256(stored));
          const lack = a && this.#lacks.get(memberKey(nodeId, a.communityId));
          if (a && lack && a.createdAt < lack.madeBefore)
            throw new MissingKeyError(`the key of archive ${a.id} has not reached ${nodeId}`);
        }
        return this.#codec.decode(stored);
      },
    };
  }

  withhold(nodeId: string, communityId: string): void {
    this.#lacks.set(memberKey(nodeId, communityId), { madeBefore: Number.POSITIVE_INFINITY });
  }

  restored(nodeId: string, communityIds: string[], at: number): void {
    for (const c of communityIds) this.#lacks.set(memberKey(nodeId, c), { madeBefore: at });
  }

  arrive(nodeId: string, communityId: string): void {
    this.#lacks.delete(memberKey(nodeId, communityId));
  }

  lacks(nodeId: string, communityId: string): boolean {
    return this.#lacks.has(memberKey(nodeId, communityId));
  }
}
