// The invariants of protocol.md §10 restated for the content-addressed backend (§11,
// §11.1), checked from the machines' cid signals (machines/signals.ts) and, where a
// signal names content, from the node's content store as the monitor's `readContent`
// reads it. machines/invariants.ts runs these beside the torrent ones, under the names of
// CID_INVARIANTS (a torrent-only run leaves them "not checked").
//
// 3' cidIndexLayout — on `archive.cidRoundCreated` of a control node with an index: the
//   index it uploaded decodes, every key is Keccak-256 of its encoded entry, every cid a
//   content id, every range non-empty (archive/content-round.ts verifyCidIndex); any two
//   ranges are the same partition or disjoint; the round's archives are in the index with
//   their cids and ranges, inside the round's [start, end), in ascending order.
// 4' cidMessagesArchivedOnce — the same signal: each new archive (read from the store by
//   its cid) holds only messages of its range, no message is in two archives of the round,
//   a new range overlaps no range of an earlier round, and every stored message of the
//   round's range is archived unless dropped for size (counted).
// 5  onlyControlNodeDispatches (the torrent invariant's name) — on `archive.indexCidDispatched`:
//   the sender holds the community key and the link is signed by the community.
// 6' cidClocksMonotonic — index-cid link clocks a node dispatches strictly increase per
//   community, apart from its magnetlink clocks; a node's stored index-cid clock never
//   decreases (read from storage on each of its signals).
// 7' cidIndexSeeded — the index a node announces is one it seeds (kept, `indexCidSeeded`
//   and not `indexCidUnseeded` since) and its store holds it when it dispatches the link.
// 8' cidImportsListed — once a node read a content-addressed index of a community, it
//   imports only archives listed in an index it read (of either backend: 'both' mode).

import {
  type CidIndex,
  cidEntriesByFrom,
  decodeCidArchive,
  decodeStoredCidIndex,
  verifyCidIndex,
} from '../archive/content-round.ts';
import type { ArchiveCodec } from '../archive/index.ts';
import type { NodeAdapters } from '../ports/index.ts';
import { byteKey } from '../proto/byte-key.ts';
import { toHex } from '../proto/topics.ts';
import type { NodeSignal } from './signals.ts';

export const CID_INVARIANTS = [
  'cidIndexLayout',
  'cidMessagesArchivedOnce',
  'cidClocksMonotonic',
  'cidIndexSeeded',
  'cidImportsListed',
] as const;
export type CidInvariantName = (typeof CID_INVARIANTS)[number];

type CidSignal<T extends NodeSignal['type']> = Extract<NodeSignal, { type: T }>;

export interface CidCheckContext {
  adapters: NodeAdapters;
  /** The node's content store's bytes of `cid`, undefined when it does not hold it. */
  readContent?: (cid: string) => Uint8Array | undefined;
  /** The community's chat topics (asked only by a round's check). */
  topics: () => Uint8Array[];
  codec?: ArchiveCodec;
}

/** What the checks report: an invariant was judged, or broken. */
export interface CidReporter {
  checked(name: CidInvariantName | 'onlyControlNodeDispatches'): void;
  /** Always false, so a check can `return report.fail(…)`. */
  fail(name: CidInvariantName | 'onlyControlNodeDispatches', message: string): false;
}

interface CommunityState {
  dispatchedClock?: number;
  storedClock?: number;
  /** Index cids seeded and not unseeded since. */
  seeded: Set<string>;
  /** Archive ids of every index the node read; whether one of them was content-addressed. */
  listed: Set<string>;
  readCid: boolean;
  /** Ranges of the archives of the control node's earlier rounds, by archive id. */
  ranges: Map<string, { from: number; to: number }>;
}

export class CidInvariants {
  /** node -> community -> state */
  readonly #state = new Map<string, Map<string, CommunityState>>();

  #st(node: string, communityId: string): CommunityState {
    let byCommunity = this.#state.get(node);
    if (!byCommunity) {
      byCommunity = new Map();
      this.#state.set(node, byCommunity);
    }
    let st = byCommunity.get(communityId);
    if (!st) {
      st = { seeded: new Set(), listed: new Set(), readCid: false, ranges: new Map() };
      byCommunity.set(communityId, st);
    }
    return st;
  }

  /** The node's storage (of one community, or all) was replaced by an empty one. */
  nodeReplaced(nodeId: string, communityId?: string): void {
    if (communityId === undefined) this.#state.delete(nodeId);
    else this.#state.get(nodeId)?.delete(communityId);
  }

  observe(s: NodeSignal, ctx: CidCheckContext, report: CidReporter): void {
    if ('communityId' in s) this.#storedClock(s.node, s.communityId, ctx, report);
    switch (s.type) {
      case 'archive.cidRoundCreated':
        this.#round(s, ctx, report);
        break;
      case 'archive.indexCidSeeded':
        this.#st(s.node, s.communityId).seeded.add(s.indexCid);
        break;
      case 'archive.indexCidUnseeded':
        this.#st(s.node, s.communityId).seeded.delete(s.indexCid);
        break;
      case 'archive.indexCidDispatched':
        this.#dispatched(s, ctx, report);
        break;
      case 'archive.indexRead': {
        const st = this.#st(s.node, s.communityId);
        for (const id of s.ids) st.listed.add(id);
        if (s.kind === 'cid') st.readCid = true;
        break;
      }
      case 'archive.archiveImported': {
        const st = this.#st(s.node, s.communityId);
        if (!st.readCid) break;
        report.checked('cidImportsListed');
        if (!st.listed.has(s.id))
          report.fail('cidImportsListed', `imported ${s.id}, which no index it read lists`);
        break;
      }
      default:
        break;
    }
  }

  #storedClock(node: string, communityId: string, ctx: CidCheckContext, report: CidReporter): void {
    const clock = ctx.adapters.storage.getArchiveState(communityId).indexCidClock;
    if (clock === undefined) return;
    report.checked('cidClocksMonotonic');
    const st = this.#st(node, communityId);
    if (st.storedClock !== undefined && clock < st.storedClock)
      report.fail('cidClocksMonotonic', `stored index-cid clock went from ${st.storedClock} to ${clock}`);
    st.storedClock = clock;
  }

  #dispatched(
    s: CidSignal<'archive.indexCidDispatched'>,
    ctx: CidCheckContext,
    report: CidReporter,
  ): boolean {
    report.checked('onlyControlNodeDispatches');
    if (!ctx.adapters.keys.communityPrivateKey(s.communityId))
      return report.fail(
        'onlyControlNodeDispatches',
        `sent an index-cid link for ${s.communityId} without its key`,
      );
    if (s.signer !== s.communityId)
      return report.fail('onlyControlNodeDispatches', `sent an index-cid link signed by ${s.signer}`);
    const st = this.#st(s.node, s.communityId);
    report.checked('cidClocksMonotonic');
    if (st.dispatchedClock !== undefined && s.clock <= st.dispatchedClock)
      return report.fail(
        'cidClocksMonotonic',
        `dispatched index-cid clock ${s.clock} after ${st.dispatchedClock}`,
      );
    st.dispatchedClock = s.clock;
    report.checked('cidIndexSeeded');
    if (!st.seeded.has(s.indexCid))
      return report.fail('cidIndexSeeded', `announced index ${s.indexCid}, which it does not seed`);
    if (ctx.readContent && ctx.readContent(s.indexCid) === undefined)
      return report.fail('cidIndexSeeded', `announced index ${s.indexCid}, which its store does not hold`);
    return true;
  }

  #round(s: CidSignal<'archive.cidRoundCreated'>, ctx: CidCheckContext, report: CidReporter): boolean {
    if (s.indexCid === undefined) {
      if (s.archives.length > 0)
        return report.fail('cidIndexLayout', `round made ${s.archives.length} archives but no index`);
      return true;
    }
    if (!ctx.readContent) return true;
    report.checked('cidIndexLayout');
    const stored = ctx.readContent(s.indexCid);
    if (stored === undefined)
      return report.fail('cidIndexLayout', `its store does not hold the index ${s.indexCid} it created`);
    let index: CidIndex;
    try {
      index = decodeStoredCidIndex(stored, ctx.codec, `index ${s.indexCid}`);
    } catch (error) {
      return report.fail('cidIndexLayout', `index ${s.indexCid} does not decode: ${String(error)}`);
    }
    const problems = verifyCidIndex(index);
    if (problems.length > 0)
      return report.fail('cidIndexLayout', `index ${s.indexCid}: ${problems.join('; ')}`);
    const entries = cidEntriesByFrom(index);
    for (let i = 1; i < entries.length; i++) {
      const [prevId, prev] = entries[i - 1]!;
      const [id, e] = entries[i]!;
      const same = e.metadata.from === prev.metadata.from && e.metadata.to === prev.metadata.to;
      if (!same && e.metadata.from < prev.metadata.to)
        return report.fail(
          'cidIndexLayout',
          `archives ${prevId} [${prev.metadata.from}, ${prev.metadata.to}) and ${id} [${e.metadata.from}, ${e.metadata.to}) overlap`,
        );
    }
    let lastFrom = -Infinity;
    for (const a of s.archives) {
      const e = index.archives.get(a.id);
      if (!e) return report.fail('cidIndexLayout', `archive ${a.id} of the round is not in its index`);
      if (e.cid !== a.cid || e.metadata.from !== a.from || e.metadata.to !== a.to)
        return report.fail(
          'cidIndexLayout',
          `archive ${a.id} is listed with another cid or range than the round's`,
        );
      if (a.from < s.start || a.to > s.end)
        return report.fail(
          'cidIndexLayout',
          `archive ${a.id} [${a.from}, ${a.to}) is outside the round's [${s.start}, ${s.end})`,
        );
      if (a.from < lastFrom)
        return report.fail('cidIndexLayout', `archive ${a.id} comes before an earlier partition's`);
      lastFrom = a.from;
    }
    return this.#messages(s, index, ctx, report);
  }

  #messages(
    s: CidSignal<'archive.cidRoundCreated'>,
    index: CidIndex,
    ctx: CidCheckContext,
    report: CidReporter,
  ): boolean {
    report.checked('cidMessagesArchivedOnce');
    const st = this.#st(s.node, s.communityId);
    const inRound = new Set<string>();
    for (const a of s.archives) {
      for (const [oldId, old] of st.ranges)
        if (a.from < old.to && old.from < a.to)
          return report.fail(
            'cidMessagesArchivedOnce',
            `archive ${a.id} [${a.from}, ${a.to}) overlaps ${oldId} [${old.from}, ${old.to}) of an earlier round`,
          );
      const bytes = ctx.readContent?.(a.cid);
      if (bytes === undefined)
        return report.fail('cidMessagesArchivedOnce', `its store does not hold archive ${a.id} (${a.cid})`);
      let messages: ReturnType<typeof decodeCidArchive>['messages'];
      try {
        messages = decodeCidArchive(a.id, index.archives.get(a.id)!, bytes, ctx.codec).messages;
      } catch (error) {
        return report.fail('cidMessagesArchivedOnce', `archive ${a.id} does not decode: ${String(error)}`);
      }
      for (const m of messages) {
        if (m.timestamp < a.from || m.timestamp >= a.to)
          return report.fail(
            'cidMessagesArchivedOnce',
            `message ${toHex(m.hash)} at ${m.timestamp} is outside its archive's [${a.from}, ${a.to})`,
          );
        const h = byteKey(m.hash);
        if (inRound.has(h))
          return report.fail('cidMessagesArchivedOnce', `message ${toHex(m.hash)} is in two archives`);
        inRound.add(h);
      }
    }
    let missing = 0;
    for (const m of ctx.adapters.storage.messagesInRange(ctx.topics(), s.start, s.end))
      if (!inRound.has(byteKey(m.hash))) missing++;
    if (missing > s.dropped)
      return report.fail(
        'cidMessagesArchivedOnce',
        `${missing} stored messages of [${s.start}, ${s.end}) are in no archive (${s.dropped} dropped)`,
      );
    for (const a of s.archives) st.ranges.set(a.id, { from: a.from, to: a.to });
    return true;
  }
}
