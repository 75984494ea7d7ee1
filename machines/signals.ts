// The signals of protocol.md §7 with their payloads, plus the node's own observations
// (`archive.*`: what the invariant monitors and the harness need to see, e.g. a dispatched
// magnetlink or the start and end of a task). One typed stream per node: a host app
// subscribes and filters on `type`.

export const PROTOCOL_SIGNALS = [
  'community.historyArchivesProtocolEnabled',
  'community.historyArchivesProtocolDisabled',
  'community.creatingHistoryArchives',
  'community.historyArchivesCreated',
  'community.noHistoryArchivesCreated',
  'community.historyArchivesSeeding',
  'community.historyArchivesUnseeded',
  'community.downloadingHistoryArchivesStarted',
  'community.historyArchiveDownloaded',
  'community.importingHistoryArchiveMessages',
  'community.downloadingHistoryArchivesFinished',
] as const;
export type ProtocolSignalName = (typeof PROTOCOL_SIGNALS)[number];

interface Base {
  /** Node that emitted it. */
  node: string;
  /** Virtual (or real) time of emission, ms. */
  t: number;
}

/** §7, exactly the payloads the reference emits (plus node and time). */
export type ProtocolSignal = Base &
  (
    | { type: 'community.historyArchivesProtocolEnabled' }
    | { type: 'community.historyArchivesProtocolDisabled' }
    | { type: 'community.creatingHistoryArchives'; communityId: string }
    | { type: 'community.historyArchivesCreated'; communityId: string; from: number; to: number }
    | { type: 'community.noHistoryArchivesCreated'; communityId: string; from: number; to: number }
    | { type: 'community.historyArchivesSeeding'; communityId: string }
    | { type: 'community.historyArchivesUnseeded'; communityId: string }
    | { type: 'community.downloadingHistoryArchivesStarted'; communityId: string }
    | { type: 'community.historyArchiveDownloaded'; communityId: string; from: number; to: number }
    | { type: 'community.importingHistoryArchiveMessages'; communityId: string }
    | { type: 'community.downloadingHistoryArchivesFinished'; communityId: string }
  );

export interface ArchiveSummary {
  id: string;
  from: number;
  to: number;
  offset: number;
  size: number;
  padding: number;
  messages: number;
}

/** One archive of a content-addressed round. */
export interface CidArchiveSummary {
  id: string;
  cid: string;
  from: number;
  to: number;
  messages: number;
  /** Bytes uploaded. */
  bytes: number;
}

/** Observations beyond §7 (not reference signals): for monitors, harnesses and hosts. */
export type Observation = Base &
  (
    | {
        type: 'archive.roundCreated';
        communityId: string;
        start: number;
        end: number;
        archives: ArchiveSummary[];
        dropped: number;
        infoHash?: string;
        magnet?: string;
      }
    | {
        type: 'archive.magnetlinkDispatched';
        communityId: string;
        clock: number;
        magnetUri: string;
        signer: string;
      }
    | {
        type: 'archive.magnetlinkReceived';
        communityId: string;
        signer: string;
        clock: number;
        magnetUri: string;
        accepted: boolean;
        reason?: string;
        /** Present for a content-addressed link (magnetUri then holds the index cid). */
        kind?: 'cid';
      }
    | { type: 'archive.magnetlinkRejected'; reason: string }
    | { type: 'archive.torrentSeeded'; communityId: string; infoHash: string }
    | { type: 'archive.torrentUnseeded'; communityId: string; infoHash: string }
    | {
        type: 'archive.taskStarted';
        communityId: string;
        magnetUri: string;
        source: 'magnetlink' | 'requestToJoin' | 'resume';
      }
    | { type: 'archive.taskEnded'; communityId: string; status: TaskStatus; detail?: string }
    /** The index of a task's link was read (a content-addressed one: `infoHash` holds its cid, `kind` is 'cid'). */
    | { type: 'archive.indexRead'; communityId: string; infoHash: string; ids: string[]; kind?: 'cid' }
    // --- the content-addressed backend (protocol.md §11)
    | {
        type: 'archive.cidRoundCreated';
        communityId: string;
        start: number;
        end: number;
        archives: CidArchiveSummary[];
        dropped: number;
        /** Undefined when the round made no archive (no new index, no new link). */
        indexCid?: string;
      }
    | { type: 'archive.indexCidSeeded'; communityId: string; indexCid: string }
    | { type: 'archive.indexCidUnseeded'; communityId: string; indexCid: string }
    | {
        type: 'archive.indexCidDispatched';
        communityId: string;
        clock: number;
        indexCid: string;
        signer: string;
      }
    /** A content-addressed download timed out (index or archive phase) and is tried once more. */
    | { type: 'archive.cidDownloadRetried'; communityId: string; attempt: number }
    /** Dual publish: one backend could not make the round (e.g. its store was down); the other's stands. */
    | { type: 'archive.roundFailed'; communityId: string; backend: 'torrent' | 'cid'; error: string }
    | {
        type: 'archive.cidFetchFailed';
        communityId: string;
        cid: string;
        what: 'index' | 'archive';
        error: string;
      }
    | { type: 'archive.archiveImported'; communityId: string; id: string; messages: number; skipped: number }
    | {
        type: 'archive.importFailed';
        communityId: string;
        id: string;
        reason: 'missingKey' | 'corrupt';
        detail: string;
      }
    | {
        type: 'archive.storeQueried';
        communityId: string;
        from: number;
        to: number;
        saved: number;
        ok: boolean;
      }
    | { type: 'archive.nodeFailed'; error: string }
    /** Starting the torrent client failed (e.g. its port is in use); the protocol stays disabled. */
    | { type: 'archive.torrentClientFailed'; error: string }
  );

export type TaskStatus =
  | 'done'
  | 'noNewArchives'
  | 'cancelled'
  | 'timeout'
  | 'malformed'
  | 'error'
  | 'notMember';

export type NodeSignal = ProtocolSignal | Observation;
export type NodeSignalType = NodeSignal['type'];

/** Distributive Omit, so that `emit({type, ...payload})` is checked per signal. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type SignalInput = DistributiveOmit<NodeSignal, 'node' | 't'>;

export type SignalListener = (signal: NodeSignal) => void;

export function isProtocolSignal(s: NodeSignal): s is ProtocolSignal {
  return s.type.startsWith('community.');
}

/**
 * A synchronous multicast stream. Listeners run in subscription order at emission time.
 * A listener that throws does not reach the machine that emitted (it must not fail the
 * node): the first such error is kept in `listenerError` and the other listeners still run.
 */
export class SignalBus {
  readonly #listeners: SignalListener[] = [];
  readonly #node: string;
  readonly #now: () => number;
  listenerError: unknown;

  constructor(node: string, now: () => number) {
    this.#node = node;
    this.#now = now;
  }

  get node(): string {
    return this.#node;
  }

  subscribe(listener: SignalListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  emit(input: SignalInput): NodeSignal {
    const signal = { ...input, node: this.#node, t: this.#now() } as NodeSignal;
    for (const l of this.#listeners.slice()) {
      try {
        l(signal);
      } catch (e) {
        this.listenerError ??= e;
      }
    }
    return signal;
  }
}
