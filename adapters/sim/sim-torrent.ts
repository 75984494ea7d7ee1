// The TorrentClient port on the simulated swarm (sim/swarm.ts). One client per node.
// Every promise settles from a kernel event, so awaiting code resumes at the virtual time
// the swarm reached. A node crash (`crash()`) drops every session without settling the
// promises of the dead incarnation; `stop()` and `remove()` reject them with
// TorrentRemoved. `seed` may take virtual time (`setSeedDelay`: a real client hashes the
// files before the torrent is up), which opens the window of §5.5 between a control node
// starting to seed and its dispatch.

import type { Unsubscribe } from '../../ports/messaging.ts';
import type {
  TorrentClient,
  TorrentDownload,
  TorrentMetadata,
  TorrentProgress,
  TransferStats,
} from '../../ports/torrent.ts';
import type { Kernel } from '../../sim/kernel.ts';
import type { Session, Swarm } from '../../sim/swarm.ts';
import { infoHashFromMagnet } from '../../sim/torrent-file.ts';

export class TorrentClientStopped extends Error {
  constructor(what: string) {
    super(`torrent client is not running (${what})`);
    this.name = 'TorrentClientStopped';
  }
}

class SimTorrentDownload implements TorrentDownload {
  readonly infoHash: string;
  readonly #swarm: Swarm;
  readonly #session: Session;
  readonly #kernel: Kernel;
  readonly #onMetadata: () => void;

  constructor(swarm: Swarm, session: Session, kernel: Kernel, onMetadata: () => void) {
    this.infoHash = session.infoHash;
    this.#swarm = swarm;
    this.#session = session;
    this.#kernel = kernel;
    this.#onMetadata = onMetadata;
  }

  metadata(signal?: AbortSignal): Promise<TorrentMetadata> {
    this.#onMetadata();
    return this.#swarm.metadata(this.#session, signal);
  }

  downloadFile(path: string, signal?: AbortSignal): Promise<void> {
    return this.#settled(
      this.#swarm.wantWhenKnown(
        this.#session,
        (meta) => {
          const f = meta.files.find((x) => x.path === path);
          if (!f) throw new Error(`torrent ${this.infoHash} has no file ${path}`);
          const first = Math.floor(f.offset / meta.pieceLength);
          const end = f.length === 0 ? first : Math.ceil((f.offset + f.length) / meta.pieceLength);
          return [first, end];
        },
        signal,
      ),
    );
  }

  downloadPieces(first: number, end: number, signal?: AbortSignal): Promise<void> {
    return this.#settled(
      this.#swarm.wantWhenKnown(
        this.#session,
        (meta) => {
          if (
            !Number.isInteger(first) ||
            !Number.isInteger(end) ||
            first < 0 ||
            end < first ||
            end > meta.pieceCount
          ) {
            throw new RangeError(
              `torrent ${this.infoHash}: bad piece range [${first}, ${end}) of ${meta.pieceCount}`,
            );
          }
          return [first, end];
        },
        signal,
      ),
    );
  }

  /** Tell the kernel when the promise settles, so runAsync lets the caller continue at once. */
  #settled(p: Promise<void>): Promise<void> {
    const note = () => this.#kernel.noteAsyncWork();
    p.then(note, note);
    return p;
  }

  onProgress(listener: (progress: TorrentProgress) => void): Unsubscribe {
    return this.#session.listen(listener);
  }
}

export class SimTorrentClient implements TorrentClient {
  readonly #nodeId: string;
  readonly #swarm: Swarm;
  readonly #kernel: Kernel;
  #running = false;
  #dead = false;
  /** Bumped by every stop: a seed delay that spans one rejects. */
  #generation = 0;
  /** Bumped by every crash: a seed delay that spans one never settles. */
  #incarnation = 0;
  #seedDelayMs = 0;
  readonly #downloads = new Map<string, SimTorrentDownload>();
  /**
   * Virtual ms of every request for a torrent's metadata, across restarts: a run counts a
   * task's retries (a second request within one task) from them. Counting only.
   */
  readonly metadataRequests: number[] = [];

  constructor(nodeId: string, swarm: Swarm, kernel: Kernel) {
    this.#nodeId = nodeId;
    this.#swarm = swarm;
    this.#kernel = kernel;
  }

  get running(): boolean {
    return this.#running;
  }

  async start(): Promise<void> {
    // Code of a crashed incarnation must not start the restarted node's client.
    if (this.#dead) throw new TorrentClientStopped('start: the node crashed');
    this.#running = true;
    this.#kernel.noteAsyncWork();
  }

  /** Virtual time each later `seed` takes before the torrent is up (0: at once). */
  setSeedDelay(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0)
      throw new RangeError(`seed delay: expected a whole number of ms >= 0, got ${ms}`);
    this.#seedDelayMs = ms;
  }

  get seedDelayMs(): number {
    return this.#seedDelayMs;
  }

  async stop(): Promise<void> {
    this.#generation++;
    this.#swarm.leaveAll(this.#nodeId);
    this.#downloads.clear();
    this.#running = false;
    this.#kernel.noteAsyncWork();
  }

  async seed(torrentFile: Uint8Array, parentDir: string): Promise<string> {
    if (!this.#running) throw new TorrentClientStopped('seed');
    if (this.#seedDelayMs > 0) await this.#seedDelay(this.#seedDelayMs);
    const infoHash = this.#swarm.seed(this.#nodeId, torrentFile, parentDir);
    this.#kernel.noteAsyncWork();
    return infoHash;
  }

  /**
   * Resolves `ms` of virtual time later; rejects when the client was stopped meanwhile and
   * never settles when the node crashed (the crash contract of the other promises).
   */
  #seedDelay(ms: number): Promise<void> {
    const generation = this.#generation;
    const incarnation = this.#incarnation;
    return new Promise((resolve, reject) => {
      this.#kernel.after(ms, 'torrent.seedDelay', () => {
        if (incarnation !== this.#incarnation) return;
        this.#kernel.noteAsyncWork();
        if (generation !== this.#generation) reject(new TorrentClientStopped('seed: stopped meanwhile'));
        else resolve();
      });
    });
  }

  add(magnetUri: string, parentDir: string): TorrentDownload {
    if (!this.#running) throw new TorrentClientStopped('add');
    const infoHash = infoHashFromMagnet(magnetUri);
    const session = this.#swarm.join(this.#nodeId, infoHash, parentDir);
    let d = this.#downloads.get(infoHash);
    if (!d) {
      d = new SimTorrentDownload(this.#swarm, session, this.#kernel, () =>
        this.metadataRequests.push(this.#kernel.now()),
      );
      this.#downloads.set(infoHash, d);
    }
    return d;
  }

  async remove(infoHash: string): Promise<void> {
    this.#swarm.leave(this.#nodeId, infoHash);
    this.#downloads.delete(infoHash);
    this.#kernel.noteAsyncWork();
  }

  active(): string[] {
    return this.#swarm
      .sessionsOf(this.#nodeId)
      .map((s) => s.infoHash)
      .sort();
  }

  stats(): TransferStats {
    const s = this.#swarm.stats(this.#nodeId);
    return { bytesDown: s.bytesDown, bytesUp: s.bytesUp };
  }

  /** Node crash: sessions vanish, promises of the dead incarnation never settle. */
  crash(): void {
    this.#incarnation++;
    this.#swarm.leaveAll(this.#nodeId, true);
    this.#downloads.clear();
    this.#running = false;
    this.#dead = true;
  }

  /** After a crash: the node runs again; the client is stopped until start(). */
  restart(): void {
    this.#dead = false;
  }
}
