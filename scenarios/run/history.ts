// The history a member should end up with: every message of every archive of the latest
// index of a community, the one of the control node that made the community's latest round
// (the first owner's, unless another node holds the key too or was handed the community),
// re-read when a new round is made; whether a node holds all of it, and the report's
// samples of the share of readers that do.

import { decodeCidArchive, decodeStoredCidIndex } from '../../archive/content-round.ts';
import { communityFolder, readArchiveMessages, readIndex } from '../../archive/index.ts';
import { byteKey } from '../../proto/byte-key.ts';
import type { HarnessCommunity, HarnessNode } from '../harness.ts';
import type { HistorySample } from '../result.ts';
import type { RunContext } from './context.ts';

export class RequiredHistory {
  readonly #run: RunContext;
  readonly #required = new Map<string, string[]>();
  readonly #requiredRound = new Map<string, number>();
  /** Community id -> rounds made so far by any node, and the node that made the latest. */
  readonly #rounds = new Map<string, { count: number; node: HarnessNode }>();
  readonly samples: HistorySample[] = [];

  constructor(run: RunContext) {
    this.#run = run;
  }

  /** Byte keys of the message hashes of `c`'s latest index, as last refreshed. */
  of(communityId: string): string[] {
    return this.#required.get(communityId) ?? [];
  }

  /** A node made a round (`archive.roundCreated` or `archive.cidRoundCreated`) of a community. */
  noteRound(n: HarnessNode, communityId: string): void {
    this.#rounds.set(communityId, { count: (this.#rounds.get(communityId)?.count ?? 0) + 1, node: n });
  }

  /**
   * Hashes of every message of every archive of the latest index of `c`: the torrent index
   * in the maker's folder, else (a node running the content-addressed backend alone) the
   * index cid its store holds.
   */
  #read(c: HarnessCommunity): string[] {
    const maker = this.#rounds.get(c.id)?.node ?? this.#run.h.owner;
    const { fs, dataDir } = maker.adapters;
    const codec = this.#run.plan.codec;
    const folder = communityFolder(dataDir, c.id);
    if (!fs.exists(`${folder}/index`)) return this.#readContentAddressed(maker, c);
    const out: string[] = [];
    for (const meta of readIndex(fs, folder, codec).archives.values())
      for (const m of readArchiveMessages(fs, folder, meta, codec).messages) out.push(byteKey(m.hash));
    return out.sort();
  }

  #readContentAddressed(maker: HarnessNode, c: HarnessCommunity): string[] {
    const indexCid = maker.adapters.storage.getArchiveState(c.id).indexCid;
    const network = this.#run.world.content;
    const stored = indexCid === undefined ? undefined : network.readLocal(maker.id, indexCid);
    if (!stored) return [];
    const codec = this.#run.plan.codec;
    const index = decodeStoredCidIndex(stored, codec);
    const out: string[] = [];
    for (const [id, entry] of index.archives) {
      const bytes = network.readLocal(maker.id, entry.cid);
      if (!bytes) continue;
      for (const m of decodeCidArchive(id, entry, bytes, codec).messages) out.push(byteKey(m.hash));
    }
    return out.sort();
  }

  /** Re-read the required history of every community a new round was made of. */
  refresh(): void {
    const { h } = this.#run;
    for (const c of h.communities) {
      const rounds = this.#rounds.get(c.id)?.count ?? 0;
      if (rounds !== (this.#requiredRound.get(c.id) ?? 0)) {
        this.#required.set(c.id, this.#read(c));
        this.#requiredRound.set(c.id, rounds);
      }
    }
  }

  /** Byte keys of the hashes of every message `n` holds in `c`'s chats. */
  held(n: HarnessNode, c: HarnessCommunity): Set<string> {
    return new Set(
      n.adapters.storage.messagesInRange(c.topics, 0, Number.MAX_SAFE_INTEGER).map((m) => byteKey(m.hash)),
    );
  }

  holdsFull(n: HarnessNode, c: HarnessCommunity): boolean {
    const have = this.held(n, c);
    return this.of(c.id).every((x) => have.has(x));
  }

  /** One sample per community: the share of its up, joined readers holding the full history. */
  sample(): void {
    const { h, world, allNodes, membership } = this.#run;
    const ownerIds = new Set(this.#run.plan.owners.map((n) => this.#run.plan.id(n.name)));
    this.refresh();
    for (const c of h.communities) {
      if (this.of(c.id).length === 0) continue;
      const readers = allNodes.filter(
        (n) =>
          !ownerIds.has(n.id) && n.archive !== undefined && membership.isMember(n.id, c) && !n.sim.crashed,
      );
      if (readers.length === 0) continue;
      const full = readers.filter((n) => this.holdsFull(n, c)).length;
      this.samples.push({ t: world.kernel.now(), communityId: c.id, share: full / readers.length });
    }
  }
}

/** Virtual ms between two samples of the "full history" share. */
export function sampleInterval(durationMs: number): number {
  return Math.max(3_600_000, Math.ceil(durationMs / 240 / 3_600_000) * 3_600_000);
}
