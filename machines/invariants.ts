// The invariants of protocol.md §10 as monitors. A monitor is attached to every node of a
// run: it observes the node's signals and, when a signal says something changed, the
// node's storage and files. The first violation is kept with the invariant's name, the
// node and the signal that broke it; `onViolation` lets the runner stop there.
//
// Checks and when they run:
// 1 dataAppendOnly / 2 piecesStable / 3 archiveLayout / 4 messagesArchivedOnce — on each
//   `archive.roundCreated` of a control node, incrementally: a round reads only what it
//   appended. 1: `data` did not shrink, and no write replaced bytes the monitor had checked
//   (the node's files go through an AppendOnlyWatch, `watchFiles`, which compares a
//   replacement of `data` with what it replaces when it happens). 2: every earlier index
//   entry is unchanged and inside the old data, the torrent's earlier piece hashes are the
//   previous torrent's, and its new pieces hash to the appended bytes. 3: sizes, offsets,
//   the end of `data`. 4: each new archive's messages lie in its range, no message is in two
//   archives of the round, new ranges do not overlap earlier rounds' (so no message can be
//   in archives of two rounds), and every stored message of the round's range is archived.
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
// The content-addressed backend's restatements of 3–8 (cidIndexLayout,
// cidMessagesArchivedOnce, cidClocksMonotonic, cidIndexSeeded, cidImportsListed) are in
// machines/cid-invariants.ts; they read the node's content store through `readContent`.

import { createHash } from 'node:crypto';
import {
  type ArchiveCodec,
  communityFolder,
  parseTorrentFile,
  readArchiveMessages,
  readIndex,
  torrentPath,
} from '../archive/index.ts';
import type { FileSystem, NodeAdapters } from '../ports/index.ts';
import { byteKey } from '../proto/byte-key.ts';
import { toHex } from '../proto/topics.ts';
import type { WakuMessageArchiveIndexMetadata } from '../proto/types.ts';
import { AppendOnlyWatch } from './append-only-watch.ts';
import { CID_INVARIANTS, CidInvariants } from './cid-invariants.ts';
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
  ...CID_INVARIANTS,
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
  /**
   * The bytes of `cid` in the node's content store, undefined when it does not hold them
   * (the content-addressed invariants read what a round uploaded and what a link names).
   * Without it those checks judge the signals alone.
   */
  readContent?: (nodeId: string, cid: string) => Uint8Array | undefined;
  onViolation?: (v: Violation) => void;
}

interface OwnerState {
  /** `data` bytes checked so far (the previous round's length). */
  dataLength: number;
  /** SHA-1 of every `data` piece of the previous round's torrent, concatenated. */
  pieces: Uint8Array;
  /** Index entries of the previous round. */
  entries: Map<string, WakuMessageArchiveIndexMetadata>;
}

function sha1(bytes: Uint8Array): Uint8Array {
  return createHash('sha1').update(bytes).digest();
}

function concatHashes(hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 20);
  hashes.forEach((h, i) => {
    out.set(h, i * 20);
  });
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
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
  /** The storage's archive records as last attributed. */
  attributed?: readonly unknown[];
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
  readonly #watches = new Map<string, AppendOnlyWatch>();
  readonly #cid = new CidInvariants();
  #violation: Violation | undefined;
  #convergence: string | undefined;

  constructor(options: MonitorOptions) {
    this.#o = options;
  }

  get violation(): Violation | undefined {
    return this.#violation;
  }

  /**
   * The node's FileSystem as the monitor watches it (invariant 1 at the writes): hand the
   * returned one to the node instead of `fs`. Without it, rewrites of earlier `data` bytes
   * are only seen when they change a piece the torrent still lists.
   */
  watchFiles(nodeId: string, fs: FileSystem, dataDir: string): FileSystem {
    const watch = new AppendOnlyWatch(fs, dataDir);
    this.#watches.set(nodeId, watch);
    return watch;
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
    this.#cid.nodeReplaced(nodeId, communityId);
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
    this.#observeCid(node, s);
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
      // An index cid, like an info-hash, names the control node that seeded it first; its
      // index is judged apart from that node's torrent index (the two use different ids).
      case 'archive.indexCidSeeded': {
        if (!this.#torrentSource.has(s.indexCid))
          this.#torrentSource.set(s.indexCid, `${s.node} (content-addressed)`);
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

  #observeCid(node: MonitoredNode, s: NodeSignal): void {
    if (!('communityId' in s)) return;
    const { communityId } = s;
    const read = this.#o.readContent;
    const codec = this.#o.codecOf?.(communityId);
    this.#cid.observe(
      s,
      {
        adapters: node.adapters,
        topics: () => this.#o.topicsOf(communityId),
        ...(read ? { readContent: (cid: string) => read(node.id, cid) } : {}),
        ...(codec ? { codec } : {}),
      },
      {
        checked: (name) => this.#checked.add(name),
        fail: (name, message) => this.#fail(name, s.node, message, s),
      },
    );
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
    const records = node.adapters.storage.archives(communityId);
    // The in-memory storage hands out the same snapshot until its records change.
    if (records === st.attributed) return;
    st.attributed = records;
    for (const r of records) if (!st.sourceOf.has(r.id)) st.sourceOf.set(r.id, source);
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

  #checkRound(node: MonitoredNode, s: Extract<NodeSignal, { type: 'archive.roundCreated' }>): boolean {
    const { fs, dataDir, torrentDir } = node.adapters;
    const folder = communityFolder(dataDir, s.communityId);
    const key = `${s.node}\u0000${s.communityId}`;
    let own = this.#owners.get(key);
    if (!own) {
      own = { dataLength: 0, pieces: new Uint8Array(0), entries: new Map() };
      this.#owners.set(key, own);
    }
    const dataPath = `${folder}/data`;
    if (!fs.exists(dataPath)) {
      if (s.archives.length > 0)
        return this.#fail('archiveLayout', s.node, `round made archives but ${dataPath} is absent`, s);
      return true;
    }
    const dataSize = fs.size(dataPath);
    const P = this.#o.pieceLength;
    const prevLength = own.dataLength;

    // 1. data only grows and starts with the previous round's bytes.
    this.#checked.add('dataAppendOnly');
    const watch = this.#watches.get(s.node);
    const rewrite = watch?.takeRewrites().find((r) => r.path === dataPath);
    if (rewrite) {
      const from = Math.floor(rewrite.at / P) * P;
      return this.#fail(
        'dataAppendOnly',
        s.node,
        `bytes [${from}, ${prevLength}) of data changed (of the first ${prevLength}): rewritten at byte ${rewrite.at}`,
        s,
      );
    }
    if (dataSize < prevLength) {
      return this.#fail('dataAppendOnly', s.node, `data shrank from ${prevLength} to ${dataSize} bytes`, s);
    }

    // 3. layout.
    this.#checked.add('archiveLayout');
    const codec = this.#o.codecOf?.(s.communityId);
    const index = readIndex(fs, folder, codec);
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

    // 2. earlier archives unchanged: same entry, inside the old data; the torrent keeps the
    // earlier pieces' hashes and its new pieces are the appended bytes'.
    this.#checked.add('piecesStable');
    for (const [id, old] of own.entries) {
      const now = index.archives.get(id);
      if (!now || now.offset !== old.offset || now.size !== old.size || now.padding !== old.padding) {
        return this.#fail('piecesStable', s.node, `archive ${id} moved or vanished from the index`, s);
      }
      if (old.offset + old.size > prevLength) {
        return this.#fail('piecesStable', s.node, `archive ${id} was not inside the previous data`, s);
      }
    }
    const torrentFile = torrentPath(torrentDir, s.communityId);
    let pieces = own.pieces;
    if (fs.exists(torrentFile)) {
      // The torrent's pieces run over `data` then `index`; `data` is piece-aligned, so its
      // pieces come first and are the ones to keep.
      const all = parseTorrentFile(fs.read(torrentFile)).pieceHashes;
      pieces = concatHashes(all.slice(0, Math.ceil(dataSize / P)));
      const kept = own.pieces.length;
      if (pieces.length < kept || !sameBytes(pieces, own.pieces, kept)) {
        return this.#fail(
          'piecesStable',
          s.node,
          'the torrent no longer lists the earlier pieces with their hashes',
          s,
        );
      }
      for (let p = Math.ceil(prevLength / P); p * P < dataSize; p++) {
        const bytes = fs.readRange(dataPath, p * P, Math.min(P, dataSize - p * P));
        if (!sameBytes(sha1(bytes), pieces.subarray(p * 20, p * 20 + 20), 20)) {
          return this.#fail('piecesStable', s.node, `piece ${p} does not hash to the torrent's SHA-1`, s);
        }
      }
    }

    // 4. every stored message of the round's range in exactly one archive (unless dropped).
    this.#checked.add('messagesArchivedOnce');
    const inRound = new Set<string>();
    for (const [id, m] of entries) {
      if (own.entries.has(id)) continue;
      for (const old of own.entries.values()) {
        if (m.metadata.from < old.metadata.to && old.metadata.from < m.metadata.to)
          return this.#fail(
            'messagesArchivedOnce',
            s.node,
            `archive ${id} [${m.metadata.from}, ${m.metadata.to}) overlaps an earlier round's [${old.metadata.from}, ${old.metadata.to})`,
            s,
          );
      }
      for (const msg of readArchiveMessages(fs, folder, m, codec).messages) {
        if (msg.timestamp < m.metadata.from || msg.timestamp >= m.metadata.to)
          return this.#fail(
            'messagesArchivedOnce',
            s.node,
            `message ${toHex(msg.hash)} at ${msg.timestamp} is outside its archive's [${m.metadata.from}, ${m.metadata.to})`,
            s,
          );
        const h = byteKey(msg.hash);
        if (inRound.has(h))
          return this.#fail(
            'messagesArchivedOnce',
            s.node,
            `message ${toHex(msg.hash)} is in two archives`,
            s,
          );
        inRound.add(h);
      }
    }
    let missing = 0;
    for (const msg of node.adapters.storage.messagesInRange(
      this.#o.topicsOf(s.communityId),
      s.start,
      s.end,
    )) {
      if (!inRound.has(byteKey(msg.hash))) missing++;
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
    own.pieces = pieces;
    own.dataLength = dataSize;
    watch?.guard(dataPath, dataSize);
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
