// The invariants of protocol.md §10 as monitors. A monitor is attached to every node of a
// run: it observes the node's signals and, when a signal says something changed, the
// node's storage and files. The first violation is kept with the invariant's name, the
// node and the signal that broke it; `onViolation` lets the runner stop there.
//
// Checks and when they run:
// 1 dataAppendOnly / 2 piecesStable / 3 archiveLayout / 4 messagesArchivedOnce — on each
//   `archive.roundCreated` of a control node, over its `data` and `index` (2 follows from
//   1 byte for byte, plus: every earlier index entry is unchanged and inside the old data).
// 5 onlyControlNodeDispatches — on `archive.magnetlinkDispatched` (the sender must hold the
//   community key) and on an accepted `archive.magnetlinkReceived` (signer = community).
// 6 clocksMonotonic — dispatched clocks strictly increase per node and community; a
//   member's stored clock never decreases (read from storage on each of its signals).
// 7 singleTask — `archive.taskStarted`/`taskEnded` and `torrentSeeded`/`torrentUnseeded`.
// 8 importedSubsetDownloaded — on `archive.archiveImported`, `archive.indexRead` and
//   `historyArchiveDownloaded`, per torrent source: an archive counts as downloaded from
//   the control node whose torrent the member was reading (the node that seeded that
//   info-hash first), and must be in the latest index the member saw *from that node*.
//   With one control node this is "downloaded ⊆ the latest index seen"; with several
//   (exported key, §9) their indices diverge and each is judged on its own.
// 9 convergence — on demand at the end of a run (`checkConvergence`).

import { createHash } from 'node:crypto';
import { type ArchiveCodec, communityFolder, readArchiveMessages, readIndex } from '../archive/index.ts';
import type { NodeAdapters } from '../ports/index.ts';
import { byteKey } from '../proto/byte-key.ts';
import { toHex } from '../proto/topics.ts';
import type { WakuMessageArchiveIndexMetadata } from '../proto/types.ts';
import type { NodeSignal } from './signals.ts';

export const INVARIANTS = [
  'dataAppendOnly',
  'piecesStable',
  'archiveLayout',
  'messagesArchivedOnce',
  'onlyControlNodeDispatches',
  'clocksMonotonic',
  'singleTask',
  'importedSubsetDownloaded',
  'convergence',
] as const;
export type InvariantName = (typeof INVARIANTS)[number];

export interface Violation {
  invariant: InvariantName;
  node: string;
  message: string;
  /** The signal that broke it (undefined for end-of-run checks). */
  event?: NodeSignal;
  /** Virtual ms. */
  t: number;
}

export interface MonitoredNode {
  id: string;
  adapters: NodeAdapters;
}

export interface MonitorOptions {
  pieceLength: number;
  /** Waku v1 topics of a community's chats. */
  topicsOf: (communityId: string) => Uint8Array[];
  codecOf?: (communityId: string) => ArchiveCodec | undefined;
  onViolation?: (v: Violation) => void;
}

interface OwnerState {
  /** SHA-256 of the bytes each earlier round appended, in order (together: the previous data). */
  segments: DataSegment[];
  /** The next older segment to re-read (round robin). */
  nextAudit: number;
  dataLength: number;
  entries: Map<string, WakuMessageArchiveIndexMetadata>;
  archived: Set<string>;
}

interface DataSegment {
  offset: number;
  length: number;
  sha256: string;
}

/**
 * Below this much data every round re-reads all of it. Above, a round re-reads the newest
 * earlier segment and one older one in turn, so a year of ~15 MB rounds costs a few
 * seconds of hashing in all instead of a copy of `data` held for the whole run (and 52
 * full re-reads).
 */
const FULL_AUDIT_BYTES = 16 * 2 ** 20;

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface MemberState {
  clock?: number;
  imported: Set<string>;
  /** Latest index seen per torrent source (the control node that created the torrent). */
  latestIndex: Map<string, Set<string>>;
  /** Source of the index the current (or last) task read. */
  source?: string;
  /** Archive id -> the source it was downloaded from. */
  sourceOf: Map<string, string>;
  taskOpen: boolean;
  seeded?: string;
  dispatchedClock?: number;
}

export class InvariantMonitor {
  readonly #o: MonitorOptions;
  readonly #nodes = new Map<string, MonitoredNode>();
  readonly #owners = new Map<string, OwnerState>();
  /** node -> community -> what the monitor knows of it (two levels: no key strings built per signal). */
  readonly #state = new Map<string, Map<string, MemberState>>();
  readonly #checked = new Set<InvariantName>();
  /** Info-hash -> the node that seeded it first: its creator, a torrent source (invariant 8). */
  readonly #torrentSource = new Map<string, string>();
  #violation: Violation | undefined;
  #convergence: string | undefined;

  constructor(options: MonitorOptions) {
    this.#o = options;
  }

  get violation(): Violation | undefined {
    return this.#violation;
  }

  /** Watch a node; pass its signals to `observe` (or use the returned listener). */
  attach(node: MonitoredNode): (s: NodeSignal) => void {
    this.#nodes.set(node.id, node);
    return (s) => this.observe(s);
  }

  /** A node restarted after a crash: what its dead incarnation had open is gone. */
  nodeRestarted(nodeId: string): void {
    for (const st of this.#state.get(nodeId)?.values() ?? []) {
      st.taskOpen = false;
      st.seeded = undefined;
    }
  }

  /**
   * The node's storage and files — of one community, or of all (a new device restored from
   * a backup) — were replaced by empty ones: what the monitor knew of the old ones does not
   * hold for the new.
   */
  nodeReplaced(nodeId: string, communityId?: string): void {
    if (communityId === undefined) this.#state.delete(nodeId);
    else this.#state.get(nodeId)?.delete(communityId);
    for (const key of [...this.#owners.keys()])
      if (
        key === `${nodeId}\u0000${communityId}` ||
        (communityId === undefined && key.startsWith(`${nodeId}\u0000`))
      )
        this.#owners.delete(key);
  }

  /** "ok", "not checked", or the first violation of each invariant. */
  verdicts(): Record<InvariantName, string> {
    const out = {} as Record<InvariantName, string>;
    for (const name of INVARIANTS) {
      if (this.#violation?.invariant === name) out[name] = this.#describe(this.#violation);
      else if (name === 'convergence') out[name] = this.#convergence ?? 'not checked';
      else out[name] = this.#checked.has(name) ? 'ok' : 'not checked';
    }
    return out;
  }

  #describe(v: Violation): string {
    return `${v.node}: ${v.message}${v.event ? ` (at ${v.event.type} t=${v.event.t})` : ''}`;
  }

  #fail(invariant: InvariantName, node: string, message: string, event?: NodeSignal): false {
    if (this.#violation) return false;
    const t = event?.t ?? this.#nodes.get(node)?.adapters.clock.now() ?? 0;
    this.#violation = { invariant, node, message, t, ...(event ? { event } : {}) };
    this.#o.onViolation?.(this.#violation);
    return false;
  }

  #st(node: string, communityId: string): MemberState {
    let byCommunity = this.#state.get(node);
    if (!byCommunity) {
      byCommunity = new Map();
      this.#state.set(node, byCommunity);
    }
    let st = byCommunity.get(communityId);
    if (!st) {
      st = { imported: new Set(), taskOpen: false, latestIndex: new Map(), sourceOf: new Map() };
      byCommunity.set(communityId, st);
    }
    return st;
  }

  observe(s: NodeSignal): void {
    const node = this.#nodes.get(s.node);
    if (!node) return;
    try {
      this.#observe(node, s);
    } catch (e) {
      // A monitor that cannot read what it checks reports it as that invariant's failure.
      this.#fail('archiveLayout', s.node, `monitor could not check: ${String(e)}`, s);
    }
  }

  #observe(node: MonitoredNode, s: NodeSignal): void {
    if ('communityId' in s) this.#checkStoredClock(node, s.communityId, s);
    switch (s.type) {
      case 'archive.roundCreated':
        this.#checkRound(node, s);
        break;
      case 'archive.magnetlinkDispatched': {
        this.#checked.add('onlyControlNodeDispatches');
        this.#checked.add('clocksMonotonic');
        if (!node.adapters.keys.communityPrivateKey(s.communityId)) {
          this.#fail(
            'onlyControlNodeDispatches',
            s.node,
            `sent a magnetlink for ${s.communityId} without its key`,
            s,
          );
        }
        const st = this.#st(s.node, s.communityId);
        if (st.dispatchedClock !== undefined && s.clock <= st.dispatchedClock) {
          this.#fail('clocksMonotonic', s.node, `dispatched clock ${s.clock} after ${st.dispatchedClock}`, s);
        }
        st.dispatchedClock = s.clock;
        break;
      }
      case 'archive.magnetlinkReceived':
        if (s.accepted) {
          this.#checked.add('onlyControlNodeDispatches');
          if (s.signer !== s.communityId) {
            this.#fail('onlyControlNodeDispatches', s.node, `accepted a link signed by ${s.signer}`, s);
          }
        }
        break;
      case 'archive.taskStarted': {
        this.#checked.add('singleTask');
        const st = this.#st(s.node, s.communityId);
        if (st.taskOpen) this.#fail('singleTask', s.node, `second task for ${s.communityId}`, s);
        st.taskOpen = true;
        break;
      }
      case 'archive.taskEnded':
        this.#st(s.node, s.communityId).taskOpen = false;
        break;
      case 'archive.torrentSeeded': {
        if (!this.#torrentSource.has(s.infoHash)) this.#torrentSource.set(s.infoHash, s.node);
        this.#checked.add('singleTask');
        const st = this.#st(s.node, s.communityId);
        if (st.seeded !== undefined && st.seeded !== s.infoHash) {
          this.#fail('singleTask', s.node, `seeds ${s.infoHash} while still seeding ${st.seeded}`, s);
        }
        st.seeded = s.infoHash;
        break;
      }
      case 'archive.torrentUnseeded': {
        const st = this.#st(s.node, s.communityId);
        if (st.seeded === s.infoHash) st.seeded = undefined;
        break;
      }
      case 'archive.indexRead': {
        const st = this.#st(s.node, s.communityId);
        const source = this.#torrentSource.get(s.infoHash) ?? s.infoHash;
        // what arrived since the last look came from the previous task's source
        this.#attribute(node, s.communityId, st.source ?? source);
        st.source = source;
        st.latestIndex.set(source, new Set(s.ids));
        this.#checkSubsets(node, s.communityId, s);
        break;
      }
      case 'community.historyArchiveDownloaded': {
        const st = this.#st(s.node, s.communityId);
        if (st.source !== undefined) this.#attribute(node, s.communityId, st.source);
        break;
      }
      case 'archive.archiveImported': {
        this.#checked.add('importedSubsetDownloaded');
        const st = this.#st(s.node, s.communityId);
        if (st.imported.has(s.id))
          this.#fail('importedSubsetDownloaded', s.node, `imported ${s.id} twice`, s);
        st.imported.add(s.id);
        if (st.source !== undefined) this.#attribute(node, s.communityId, st.source);
        this.#checkSubsets(node, s.communityId, s);
        break;
      }
      default:
        break;
    }
  }

  #checkStoredClock(node: MonitoredNode, communityId: string, s: NodeSignal): void {
    const clock = node.adapters.storage.getArchiveState(communityId).magnetlinkClock;
    if (clock === undefined) return;
    this.#checked.add('clocksMonotonic');
    const st = this.#st(s.node, communityId);
    if (st.clock !== undefined && clock < st.clock) {
      this.#fail('clocksMonotonic', s.node, `stored magnetlink clock went from ${st.clock} to ${clock}`, s);
    }
    st.clock = clock;
  }

  /** Records of downloaded archives not attributed yet came from `source`. */
  #attribute(node: MonitoredNode, communityId: string, source: string): void {
    const st = this.#st(node.id, communityId);
    for (const r of node.adapters.storage.archives(communityId))
      if (!st.sourceOf.has(r.id)) st.sourceOf.set(r.id, source);
  }

  #checkSubsets(node: MonitoredNode, communityId: string, s: NodeSignal): void {
    this.#checked.add('importedSubsetDownloaded');
    const st = this.#st(s.node, communityId);
    const records = node.adapters.storage.archives(communityId);
    const downloaded = new Set(records.map((r) => r.id));
    for (const id of st.imported) {
      if (!downloaded.has(id)) {
        this.#fail('importedSubsetDownloaded', s.node, `imported ${id} is not recorded as downloaded`, s);
        return;
      }
    }
    for (const r of records) {
      const source = st.sourceOf.get(r.id);
      const index = source === undefined ? undefined : st.latestIndex.get(source);
      if (index && !index.has(r.id)) {
        this.#fail(
          'importedSubsetDownloaded',
          s.node,
          `downloaded ${r.id} is not in the latest index seen from ${source}`,
          s,
        );
        return;
      }
    }
  }

  /** Which earlier segments this round re-reads (all of them while `data` is small). */
  #segmentsToAudit(own: OwnerState): DataSegment[] {
    const segs = own.segments;
    if (own.dataLength <= FULL_AUDIT_BYTES || segs.length <= 2) return segs;
    const newest = segs[segs.length - 1] as DataSegment;
    const older = segs[own.nextAudit % (segs.length - 1)] as DataSegment;
    own.nextAudit++;
    return [older, newest];
  }

  #checkRound(node: MonitoredNode, s: Extract<NodeSignal, { type: 'archive.roundCreated' }>): boolean {
    const { fs, dataDir } = node.adapters;
    const folder = communityFolder(dataDir, s.communityId);
    const key = `${s.node}\u0000${s.communityId}`;
    let own = this.#owners.get(key);
    if (!own) {
      own = { entries: new Map(), archived: new Set(), segments: [], nextAudit: 0, dataLength: 0 };
      this.#owners.set(key, own);
    }
    if (!fs.exists(`${folder}/data`)) {
      if (s.archives.length > 0)
        return this.#fail('archiveLayout', s.node, `round made archives but ${folder}/data is absent`, s);
      return true;
    }
    const dataPath = `${folder}/data`;
    const dataSize = fs.size(dataPath);
    const P = this.#o.pieceLength;

    // 1. data only grows and starts with the previous round's bytes.
    this.#checked.add('dataAppendOnly');
    const prevLength = own.dataLength;
    const hadData = own.segments.length > 0;
    if (hadData) {
      if (dataSize < prevLength) {
        return this.#fail('dataAppendOnly', s.node, `data shrank from ${prevLength} to ${dataSize} bytes`, s);
      }
      for (const seg of this.#segmentsToAudit(own)) {
        if (sha256Of(fs.readRange(dataPath, seg.offset, seg.length)) !== seg.sha256) {
          return this.#fail(
            'dataAppendOnly',
            s.node,
            `bytes [${seg.offset}, ${seg.offset + seg.length}) of data changed (of the first ${prevLength})`,
            s,
          );
        }
      }
    }

    // 3. layout.
    this.#checked.add('archiveLayout');
    const index = readIndex(fs, folder, this.#o.codecOf?.(s.communityId));
    const entries = [...index.archives.entries()].sort((a, b) => a[1].offset - b[1].offset);
    let expected = 0;
    for (const [id, m] of entries) {
      if (m.size % P !== 0)
        return this.#fail(
          'archiveLayout',
          s.node,
          `archive ${id} size ${m.size} is not a multiple of ${P}`,
          s,
        );
      if (m.offset !== expected)
        return this.#fail(
          'archiveLayout',
          s.node,
          `archive ${id} at offset ${m.offset}, expected ${expected}`,
          s,
        );
      expected = m.offset + m.size;
    }
    if (expected !== dataSize) {
      return this.#fail(
        'archiveLayout',
        s.node,
        `last archive ends at ${expected} but data has ${dataSize} bytes`,
        s,
      );
    }

    // 2. earlier archives unchanged: same entry, inside the old data (whose bytes did not change).
    this.#checked.add('piecesStable');
    for (const [id, old] of own.entries) {
      const now = index.archives.get(id);
      if (!now || now.offset !== old.offset || now.size !== old.size || now.padding !== old.padding) {
        return this.#fail('piecesStable', s.node, `archive ${id} moved or vanished from the index`, s);
      }
      if (hadData && old.offset + old.size > prevLength) {
        return this.#fail('piecesStable', s.node, `archive ${id} was not inside the previous data`, s);
      }
    }

    // 4. every stored message of the round's range in exactly one archive (unless dropped).
    this.#checked.add('messagesArchivedOnce');
    const codec = this.#o.codecOf?.(s.communityId);
    for (const [id, m] of entries) {
      if (own.entries.has(id)) continue;
      const archive = readArchiveMessages(fs, folder, m, codec);
      for (const msg of archive.messages) {
        const h = byteKey(msg.hash);
        if (own.archived.has(h))
          return this.#fail(
            'messagesArchivedOnce',
            s.node,
            `message ${toHex(msg.hash)} is in two archives`,
            s,
          );
        own.archived.add(h);
      }
    }
    let missing = 0;
    for (const msg of node.adapters.storage.messagesInRange(
      this.#o.topicsOf(s.communityId),
      s.start,
      s.end,
    )) {
      if (!own.archived.has(byteKey(msg.hash))) missing++;
    }
    if (missing > s.dropped) {
      return this.#fail(
        'messagesArchivedOnce',
        s.node,
        `${missing} stored messages of [${s.start}, ${s.end}) are in no archive (${s.dropped} dropped)`,
        s,
      );
    }
    own.entries = new Map(index.archives);
    if (dataSize > prevLength) {
      own.segments.push({
        offset: prevLength,
        length: dataSize - prevLength,
        sha256: sha256Of(fs.readRange(dataPath, prevLength, dataSize - prevLength)),
      });
    }
    own.dataLength = dataSize;
    return true;
  }

  /**
   * §10.9 at the end of a healthy run: every member holds every message of every archive
   * of the owner's latest index (merge: a superset; replace: exactly, within the ranges).
   */
  checkConvergence(args: {
    owner: MonitoredNode;
    communityId: string;
    members: MonitoredNode[];
    mode: 'merge' | 'replace';
  }): string {
    const { owner, communityId } = args;
    const { fs, dataDir } = owner.adapters;
    const folder = communityFolder(dataDir, communityId);
    const topics = this.#o.topicsOf(communityId);
    const codec = this.#o.codecOf?.(communityId);
    let verdict = 'ok';
    if (fs.exists(`${folder}/index`)) {
      const index = readIndex(fs, folder, codec);
      const ranges = new Map<string, { from: number; to: number; hashes: Set<string> }>();
      for (const m of index.archives.values()) {
        const k = `${m.metadata.from}-${m.metadata.to}`;
        let r = ranges.get(k);
        if (!r) {
          r = { from: m.metadata.from, to: m.metadata.to, hashes: new Set() };
          ranges.set(k, r);
        }
        for (const msg of readArchiveMessages(fs, folder, m, codec).messages) r.hashes.add(byteKey(msg.hash));
      }
      outer: for (const member of args.members) {
        for (const r of ranges.values()) {
          const have = new Set(
            member.adapters.storage.messagesInRange(topics, r.from, r.to).map((m) => byteKey(m.hash)),
          );
          let lacking = 0;
          for (const h of r.hashes) if (!have.has(h)) lacking++;
          if (lacking > 0) {
            verdict = `${member.id} lacks ${lacking} archived messages of [${r.from}, ${r.to})`;
            break outer;
          }
          if (args.mode === 'replace' && have.size !== r.hashes.size) {
            verdict = `${member.id} holds ${have.size - r.hashes.size} messages of [${r.from}, ${r.to}) beyond the archive`;
            break outer;
          }
        }
      }
    }
    if (verdict !== 'ok') {
      this.#fail('convergence', args.members[0]?.id ?? owner.id, verdict);
      this.#convergence = verdict;
    } else if (this.#convergence === undefined || this.#convergence === 'ok') {
      this.#convergence = 'ok';
    }
    return verdict;
  }
}
