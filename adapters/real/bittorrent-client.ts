// TorrentClient port over plain BitTorrent on TCP: the peer wire of `bittorrent-protocol`
// (BEP 3, BEP 10) and the metadata exchange of `ut_metadata` (BEP 9), the packages
// webtorrent itself is made of, without webtorrent's WebRTC, DHT, tracker and blocklist
// dependencies (which do not install cleanly as a dependency of a host app).
//
// Discovery is off by design: peers are given directly, as `x.pe=host:port` in the magnet,
// through `peers` in the options, or with addPeer(). The listening socket is bound to `host`
// (127.0.0.1 by default). Every interested peer is unchoked (community swarms are small).
// Incoming connections may open with the BEP 8 encryption handshake (MSE), as libtorrent
// and anacrolix/torrent (status-go) do by default, and settle on plaintext; without it they
// would first time out and retry in the clear. Outgoing connections speak plaintext.
//
// Seeding takes the `.torrent` built by the archive module, so the info-hash is the
// archive's own, and checks every piece on disk first. Downloads fetch exactly the pieces
// asked for, lowest first, each piece from one peer, verified against its SHA-1 before it
// is written; pieces already on disk with the right hash are kept.
//
// Untrusted input: the info dictionary from a peer is checked (torrent-checks.ts) before any
// file is opened. Peer bytes never reach an unguarded decoder (bencode-guard.ts), a message
// longer than any honest one closes the connection before it is buffered, and a message the
// wire or an extension fails on closes that connection only.

import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import BitField from 'bitfield';
import Wire from 'bittorrent-protocol';
import utMetadata, { type UtMetadata } from 'ut_metadata';
import { decodeBencode } from '../../archive/bencode.ts';
import { type ParsedTorrent, parseTorrentFile } from '../../archive/index.ts';
import type { Unsubscribe } from '../../ports/messaging.ts';
import type {
  TorrentClient,
  TorrentDownload,
  TorrentMetadata,
  TorrentProgress,
  TransferStats,
} from '../../ports/torrent.ts';
import { guardPeerWireBencode } from './bencode-guard.ts';
import { PieceStore } from './piece-store.ts';
import { RateLimit } from './rate-limit.ts';
import { checkInfoDictionary, parseMagnet, TorrentRefused, TorrentRemoved } from './torrent-checks.ts';

export {
  checkInfoDictionary,
  type ParsedMagnet,
  parseMagnet,
  TorrentRefused,
  TorrentRemoved,
} from './torrent-checks.ts';

export interface BitTorrentClientOptions {
  /** TCP port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Peers (`host:port`) dialled for every torrent this client adds. */
  peers?: string[];
  /** Most open connections; default 55. */
  maxConns?: number;
  /** Download / upload rate limits in bytes per second (default: none). */
  downloadLimit?: number;
  uploadLimit?: number;
}

/** The listening socket could not be opened (`code`: EADDRINUSE, EADDRNOTAVAIL, EACCES…). */
export class ListenError extends Error {
  readonly code: string | undefined;
  /** `host:port` asked for. */
  readonly address: string;
  constructor(address: string, cause: NodeJS.ErrnoException) {
    super(`torrent client cannot listen on ${address}: ${cause.message}`);
    this.name = 'ListenError';
    this.code = cause.code;
    this.address = address;
  }
}

/** Block size of requests (what every client asks for and the most most clients serve). */
const BLOCK = 16 * 1024;
/** Block requests kept in flight per connection. */
const PIPELINE = 64;
/** A peer that sends nothing for a request this long loses the pieces it was fetching. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Largest peer message accepted: a block, a bitfield, a metadata piece all fit well below. */
const MAX_MESSAGE = 256 * 1024;
/** Pieces failing their hash before the peer that sent them is dropped for good. */
const MAX_BAD_PIECES = 3;
/** A dial with no TCP connection and handshake by then is given up (and tried again later). */
const CONNECT_TIMEOUT_MS = 10_000;
/** Delays before dialling a peer again after a connection failed or ended. */
const REDIAL_MS = [1000, 2000, 5000, 10_000, 30_000];

// Before any peer connects: bittorrent-protocol and ut_metadata decode what peers send with
// bencode, whose decoder loops for ever on a negative string length (see archive/bencode.ts).
await guardPeerWireBencode();

/**
 * The peer wire with two limits on what a peer can make it do: a message longer than
 * MAX_MESSAGE closes the connection instead of being buffered (the wire copies its buffer on
 * every read), and whatever throws while a message is handled closes this connection
 * instead of escaping into the socket's event handler and ending the process.
 */
class GuardedWire extends Wire {
  override _write(data: Uint8Array, cb: (err: Error | null) => void): void {
    try {
      super._write(data, cb);
    } catch {
      this.#close();
      cb(null);
    }
  }

  override _onMessageLength(buffer: Uint8Array): void {
    const length = new DataView(buffer.buffer, buffer.byteOffset, 4).getUint32(0);
    if (length > MAX_MESSAGE) this.#close();
    else super._onMessageLength(buffer);
  }

  #close(): void {
    this._parse(Number.MAX_SAFE_INTEGER, () => {});
    this.destroy();
  }
}

/** BEP 9 with a failing metadata check (a non-bencode info dictionary) dropped, not thrown. */
function metadataExtension(info?: Uint8Array) {
  const Base = utMetadata(info);
  return class GuardedMetadata extends Base {
    override async setMetadata(metadata: Uint8Array): Promise<boolean> {
      try {
        return await super.setMetadata(metadata);
      } catch {
        return false;
      }
    }
  };
}

type MetadataWire = Wire & { ut_metadata: UtMetadata };

interface Waiter {
  first: number;
  end: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** One piece being fetched, from one peer. */
interface PieceFetch {
  index: number;
  wire: Wire;
  bytes: Uint8Array;
  /** Next block offset to request. */
  next: number;
  received: number;
}

interface Dial {
  address: string;
  wire?: Wire;
  attempts: number;
  timer?: NodeJS.Timeout;
  /** How the first attempt went: resolved at the peer's handshake, rejected with why not. */
  firstContact: Promise<void>;
  settleFirstContact?: (problem: string | undefined) => void;
}

/** A dialled peer that could not be used, and why (see BitTorrentClient.firstContact). */
export class PeerUnusable extends Error {
  readonly address: string;
  constructor(address: string, why: string) {
    super(`${address}: ${why}`);
    this.name = 'PeerUnusable';
    this.address = address;
  }
}

interface Swarm {
  infoHash: string;
  /** SHA-1("req2", info-hash): how an encrypted handshake names the torrent. */
  infoHashHash: string;
  parentDir: string;
  expectedName?: string;
  torrent?: ParsedTorrent;
  meta?: TorrentMetadata;
  store?: PieceStore;
  have?: BitField;
  haveCount: number;
  wanted?: Uint8Array;
  wires: Set<Wire>;
  dials: Map<string, Dial>;
  fetching: Map<number, PieceFetch>;
  badPieces: Map<Wire, number>;
  /** Peer ids that sent MAX_BAD_PIECES bad pieces: neither dialled again nor accepted. */
  banned: Set<string>;
  failure?: Error;
  metaWaiters: { resolve: (m: TorrentMetadata) => void; reject: (e: unknown) => void }[];
  waiters: Set<Waiter>;
  progress: Set<(p: TorrentProgress) => void>;
}

/**
 * Runs `fn` once when the wire is gone, however it went: the wire's destroy() only ends the
 * stream, so 'finish' or 'end' may come without 'close'.
 */
function onceGone(wire: Wire, fn: () => void): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    fn();
  };
  for (const event of ['close', 'finish', 'end']) wire.once(event, once);
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('aborted', 'AbortError');
}

/** `host:port` or `[v6]:port`. */
function splitAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:/[\]]+)):(\d{1,5})$/.exec(address);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

function metadataOf(t: ParsedTorrent): TorrentMetadata {
  return {
    infoHash: t.infoHash,
    name: t.name,
    pieceLength: t.pieceLength,
    pieceCount: t.pieceHashes.length,
    files: t.files.map((f) => ({ path: f.path, length: f.length, offset: f.offset })),
  };
}

/** The `.torrent` around a bare info dictionary, for the archive module's parser. */
function torrentOfInfo(info: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode('d4:info');
  const out = new Uint8Array(head.length + info.length + 1);
  out.set(head, 0);
  out.set(info, head.length);
  out[out.length - 1] = 0x65; // 'e'
  return out;
}

export class BitTorrentClient implements TorrentClient {
  readonly #options: BitTorrentClientOptions;
  readonly #peerId = `2d4152303130302d${randomBytes(12).toString('hex')}`; // "-AR0100-" + 12 random bytes
  readonly #swarms = new Map<string, Swarm>();
  readonly #sockets = new Set<Socket>();
  readonly #download?: RateLimit;
  readonly #upload?: RateLimit;
  #server: Server | undefined;
  #starting: Promise<void> | undefined;
  #port = 0;
  #scheduleTimer: NodeJS.Timeout | undefined;
  #bytesDown = 0;
  #bytesUp = 0;

  constructor(options: BitTorrentClientOptions = {}) {
    this.#options = options;
    if (options.downloadLimit) this.#download = new RateLimit(options.downloadLimit);
    if (options.uploadLimit) this.#upload = new RateLimit(options.uploadLimit);
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** The TCP port peers reach this client on (after start()). */
  get port(): number {
    if (!this.#server) throw new Error('torrent client is not listening');
    return this.#port;
  }

  get host(): string {
    return this.#options.host ?? '127.0.0.1';
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (this.#starting) return this.#starting;
    this.#starting = this.#listen().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #listen(): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    const port = this.#options.port ?? 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new ListenError(`${this.host}:${port}`, err)));
      server.listen(port, this.host, () => resolve());
    });
    server.on('error', () => {});
    const address = server.address();
    this.#port = typeof address === 'object' && address ? address.port : port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    clearTimeout(this.#scheduleTimer);
    for (const infoHash of [...this.#swarms.keys()]) this.#drop(infoHash, new TorrentRemoved(infoHash));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #requireRunning(): void {
    if (!this.#server) throw new Error('torrent client is not running');
  }

  async seed(torrentFile: Uint8Array, parentDir: string): Promise<string> {
    this.#requireRunning();
    // The same checks as for a torrent from the network, then the archive module's parser.
    let top: unknown;
    try {
      top = decodeBencode(torrentFile);
    } catch (err) {
      throw new TorrentRefused(`not a torrent file: ${(err as Error).message}`);
    }
    checkInfoDictionary((top as { info?: unknown } | null)?.info);
    let torrent: ParsedTorrent;
    try {
      torrent = parseTorrentFile(torrentFile);
    } catch (err) {
      throw new TorrentRefused((err as Error).message);
    }
    const existing = this.#swarms.get(torrent.infoHash);
    if (existing) {
      // Already downloading or seeding: the folder is the same one.
      if (!existing.torrent) this.#setTorrent(existing, torrent);
      await this.#whenReady(existing);
      return torrent.infoHash;
    }
    const swarm = this.#newSwarm(torrent.infoHash, parentDir);
    this.#setTorrent(swarm, torrent);
    if (swarm.haveCount < torrent.pieceHashes.length) {
      const have = swarm.haveCount;
      this.#drop(swarm.infoHash, new TorrentRemoved(swarm.infoHash));
      throw new TorrentRefused(
        `cannot seed ${torrent.name}: the files in ${parentDir}/${torrent.name} match ${have} of ${torrent.pieceHashes.length} pieces of the torrent`,
      );
    }
    return torrent.infoHash;
  }

  /**
   * `options.community`: the community this magnet was announced for. The torrent's folder
   * name must be that id (a link signed by one community pointing at another community's
   * torrent is refused), checked against `dn` at once and against the info dictionary.
   */
  add(magnetUri: string, parentDir: string, options: { community?: string } = {}): TorrentDownload {
    this.#requireRunning();
    const magnet = parseMagnet(magnetUri);
    const expected = options.community ?? magnet.name;
    if (options.community !== undefined && magnet.name !== undefined && magnet.name !== options.community) {
      throw new TorrentRefused(
        `magnet names the torrent ${JSON.stringify(magnet.name)}, not community ${JSON.stringify(options.community)}`,
      );
    }
    let swarm = this.#swarms.get(magnet.infoHash);
    if (swarm && options.community !== undefined && swarm.meta && swarm.meta.name !== options.community) {
      throw new TorrentRefused(
        `torrent ${magnet.infoHash} holds community ${JSON.stringify(swarm.meta.name)}, not ${JSON.stringify(options.community)}`,
      );
    }
    if (!swarm) {
      swarm = this.#newSwarm(magnet.infoHash, parentDir, expected);
      for (const p of [...magnet.peers, ...(this.#options.peers ?? [])]) this.#addDial(swarm, p);
    }
    return this.#handle(swarm);
  }

  /** Adds a peer (`host:port`) to an active torrent; false when the torrent is unknown. */
  addPeer(infoHash: string, peer: string): boolean {
    const swarm = this.#swarms.get(infoHash);
    if (!swarm) return false;
    return this.#addDial(swarm, peer);
  }

  /**
   * How the first dial of `peer` for a torrent went: resolves once the peer answered the
   * handshake for this torrent, rejects with a PeerUnusable saying why not (connection
   * refused, no answer, closed before the handshake, another torrent). Redials go on either
   * way. Rejects at once for a peer this client does not dial for that torrent.
   */
  firstContact(infoHash: string, peer: string): Promise<void> {
    const dial = this.#swarms.get(infoHash)?.dials.get(peer);
    return dial ? dial.firstContact : Promise.reject(new PeerUnusable(peer, 'not dialled for this torrent'));
  }

  /** Number of connected peers of a torrent (0 when unknown). */
  peerCount(infoHash: string): number {
    return this.#swarms.get(infoHash)?.wires.size ?? 0;
  }

  async remove(infoHash: string): Promise<void> {
    this.#drop(infoHash, new TorrentRemoved(infoHash));
  }

  active(): string[] {
    return [...this.#swarms.keys()].sort();
  }

  stats(): TransferStats {
    return { bytesDown: this.#bytesDown, bytesUp: this.#bytesUp };
  }

  // --- torrents -------------------------------------------------------------------------

  #newSwarm(infoHash: string, parentDir: string, expectedName?: string): Swarm {
    const swarm: Swarm = {
      infoHash,
      infoHashHash: createHash('sha1').update('req2').update(Buffer.from(infoHash, 'hex')).digest('hex'),
      parentDir,
      haveCount: 0,
      wires: new Set(),
      dials: new Map(),
      fetching: new Map(),
      badPieces: new Map(),
      banned: new Set(),
      metaWaiters: [],
      waiters: new Set(),
      progress: new Set(),
      ...(expectedName !== undefined ? { expectedName } : {}),
    };
    this.#swarms.set(infoHash, swarm);
    return swarm;
  }

  /**
   * The info dictionary is known and checked: open the folder and see what is there. For a
   * download, files an earlier torrent left longer than this one says are cut first (the
   * readers of the folder read whole files; nothing of this torrent lies past its lengths).
   */
  #setTorrent(swarm: Swarm, torrent: ParsedTorrent, download = false): void {
    const store = new PieceStore(swarm.parentDir, torrent);
    if (download) for (const f of torrent.files) store.trim(f.path);
    const have = new BitField(torrent.pieceHashes.length);
    let count = 0;
    for (const [i, ok] of store.scan().entries()) {
      if (!ok) continue;
      have.set(i, true);
      count++;
    }
    swarm.torrent = torrent;
    swarm.meta = metadataOf(torrent);
    swarm.store = store;
    swarm.have = have;
    swarm.haveCount = count;
    swarm.wanted = new Uint8Array(torrent.pieceHashes.length);
    for (const wire of swarm.wires) {
      void (wire as MetadataWire).ut_metadata?.setMetadata(torrent.infoDict);
      for (let i = 0; i < torrent.pieceHashes.length; i++) if (have.get(i)) wire.have(i);
    }
    for (const w of swarm.metaWaiters.splice(0)) w.resolve(swarm.meta);
  }

  #onMetadata(swarm: Swarm, info: Uint8Array): void {
    if (swarm.torrent || swarm.failure || this.#swarms.get(swarm.infoHash) !== swarm) return;
    let torrent: ParsedTorrent;
    try {
      checkInfoDictionary(decodeBencode(info), swarm.expectedName);
      torrent = parseTorrentFile(torrentOfInfo(info));
    } catch (err) {
      this.#drop(
        swarm.infoHash,
        err instanceof TorrentRefused ? err : new TorrentRefused((err as Error).message),
      );
      return;
    }
    this.#setTorrent(swarm, torrent, true);
    this.#check(swarm);
    this.#schedule(swarm);
  }

  /** Ends a torrent: its connections, dials and waits; its files stay. */
  #drop(infoHash: string, reason: Error): void {
    const swarm = this.#swarms.get(infoHash);
    if (!swarm) return;
    this.#swarms.delete(infoHash);
    if (!swarm.failure) swarm.failure = reason;
    for (const w of swarm.metaWaiters.splice(0)) w.reject(swarm.failure);
    for (const w of swarm.waiters) w.reject(swarm.failure);
    swarm.waiters.clear();
    for (const dial of swarm.dials.values()) {
      clearTimeout(dial.timer);
      dial.settleFirstContact?.(`torrent removed: ${swarm.failure.message}`);
    }
    swarm.dials.clear();
    swarm.fetching.clear();
    for (const wire of swarm.wires) wire.destroy();
    swarm.wires.clear();
    swarm.store?.close();
  }

  // --- connections ----------------------------------------------------------------------

  #addDial(swarm: Swarm, address: string): boolean {
    if (!splitAddress(address)) return false;
    if (!swarm.dials.has(address)) {
      let settle: ((problem: string | undefined) => void) | undefined;
      const firstContact = new Promise<void>((resolve, reject) => {
        settle = (problem) =>
          problem === undefined ? resolve() : reject(new PeerUnusable(address, problem));
      });
      firstContact.catch(() => {}); // asked for by whoever cares; never an unhandled rejection
      const dial: Dial = { address, attempts: 0, firstContact, settleFirstContact: settle };
      swarm.dials.set(address, dial);
      this.#dial(swarm, dial);
    }
    return true;
  }

  #dial(swarm: Swarm, dial: Dial): void {
    dial.timer = undefined;
    if (this.#swarms.get(swarm.infoHash) !== swarm || dial.wire || !this.#server) return;
    const target = splitAddress(dial.address)!;
    const socket = connect({ host: target.host, port: target.port });
    const wire = this.#wire(socket);
    dial.wire = wire;
    dial.attempts++;
    wire.use(metadataExtension(swarm.torrent?.infoDict));
    let peer: string | undefined;
    let problem = 'closed the connection before a BitTorrent handshake';
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
      problem = `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      problem = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
    });
    wire.once('handshake', (infoHash: string, peerId: string) => {
      peer = peerId;
      socket.setTimeout(0);
      if (infoHash !== swarm.infoHash) problem = 'answered for another torrent';
      else if (peerId === this.#peerId) problem = 'is this client itself';
      else if (swarm.banned.has(peerId)) problem = 'sent pieces that failed their hash';
      else {
        dial.attempts = 0;
        dial.settleFirstContact?.(undefined);
        dial.settleFirstContact = undefined;
        this.#attach(swarm, wire);
        return;
      }
      wire.destroy();
    });
    onceGone(wire, () => {
      dial.wire = undefined;
      dial.settleFirstContact?.(problem);
      dial.settleFirstContact = undefined;
      if (this.#swarms.get(swarm.infoHash) !== swarm || !this.#server) return;
      if (peer !== undefined && swarm.banned.has(peer)) return;
      const delay = REDIAL_MS[Math.min(dial.attempts, REDIAL_MS.length) - 1] ?? REDIAL_MS[0]!;
      dial.timer = setTimeout(() => this.#dial(swarm, dial), delay);
      dial.timer.unref();
    });
    wire.handshake(swarm.infoHash, this.#peerId);
  }

  #accept(socket: Socket): void {
    const wire = this.#wire(socket, true);
    wire.once('crypto-infohash', (infoHashHash: string) => {
      const swarm = [...this.#swarms.values()].find((s) => s.infoHashHash === infoHashHash);
      if (swarm) wire.setInfoHash(swarm.infoHash);
      else wire.destroy();
    });
    wire.once('handshake', (infoHash: string, peerId: string) => {
      const swarm = this.#swarms.get(infoHash);
      if (!swarm || peerId === this.#peerId || swarm.banned.has(peerId)) {
        wire.destroy();
        return;
      }
      wire.use(metadataExtension(swarm.torrent?.infoDict));
      wire.handshake(infoHash, this.#peerId);
      this.#attach(swarm, wire);
    });
  }

  /**
   * A wire over a socket, counted against maxConns; either side closing closes both. An
   * incoming one accepts the encryption handshake and prefers plaintext after it.
   */
  #wire(socket: Socket, incoming = false): Wire {
    const wire = incoming ? new GuardedWire('tcpIncoming', 1) : new GuardedWire();
    if (this.#sockets.size >= (this.#options.maxConns ?? 55)) {
      socket.destroy();
      queueMicrotask(() => wire.destroy());
      return wire;
    }
    this.#sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.#sockets.delete(socket);
      wire.destroy();
    });
    wire.on('error', () => socket.destroy());
    onceGone(wire, () => socket.destroy());
    socket.pipe(wire).pipe(socket);
    return wire;
  }

  #attach(swarm: Swarm, wire: Wire): void {
    if (this.#swarms.get(swarm.infoHash) !== swarm) {
      wire.destroy();
      return;
    }
    swarm.wires.add(wire);
    wire.setKeepAlive(true);
    wire.setTimeout(REQUEST_TIMEOUT_MS, true);
    if (swarm.have && swarm.haveCount > 0) wire.bitfield(swarm.have);
    const ext = (wire as MetadataWire).ut_metadata;
    ext.on('metadata', () => {
      if (ext.metadata) this.#onMetadata(swarm, ext.metadata);
    });
    ext.on('warning', () => {});
    wire.on('extended', (name: string) => {
      if (name === 'handshake' && !swarm.torrent) ext.fetch();
    });
    wire.on('interested', () => wire.unchoke());
    wire.on('request', (index: number, offset: number, length: number, respond) =>
      this.#serve(swarm, index, offset, length, respond),
    );
    const update = () => {
      this.#updateInterest(swarm, wire);
      this.#schedule(swarm);
    };
    wire.on('bitfield', update);
    wire.on('have', update);
    wire.on('unchoke', update);
    wire.on('download', (n: number) => {
      this.#bytesDown += n;
    });
    wire.on('upload', (n: number) => {
      this.#bytesUp += n;
    });
    onceGone(wire, () => {
      swarm.wires.delete(wire);
      swarm.badPieces.delete(wire);
      for (const [index, f] of swarm.fetching) if (f.wire === wire) swarm.fetching.delete(index);
      this.#schedule(swarm);
    });
  }

  #serve(
    swarm: Swarm,
    index: number,
    offset: number,
    length: number,
    respond: (err: Error | null, block?: Uint8Array) => void,
  ): void {
    const store = swarm.store;
    if (
      !store ||
      !swarm.have?.get(index) ||
      length === 0 ||
      length > 8 * BLOCK ||
      offset + length > store.pieceSize(index)
    ) {
      respond(new Error('not available'));
      return;
    }
    const block = store.read(index, offset, length);
    if (!block) {
      respond(new Error('not on disk'));
      return;
    }
    const delay = this.#upload?.delayFor(length) ?? 0;
    this.#upload?.take(length);
    if (delay === 0) respond(null, block);
    else setTimeout(() => respond(null, block), delay).unref();
  }

  // --- downloading ----------------------------------------------------------------------

  #needs(swarm: Swarm, wire: Wire): boolean {
    const { wanted, have } = swarm;
    if (!wanted || !have) return false;
    for (let i = 0; i < wanted.length; i++)
      if (wanted[i] && !have.get(i) && wire.peerPieces.get(i)) return true;
    return false;
  }

  #updateInterest(swarm: Swarm, wire: Wire): void {
    if (this.#needs(swarm, wire)) wire.interested();
    else wire.uninterested();
  }

  /** Keeps every unchoked peer's pipeline full with blocks of wanted pieces. */
  #schedule(swarm: Swarm): void {
    const { store, wanted, have } = swarm;
    if (!store || !wanted || !have || this.#swarms.get(swarm.infoHash) !== swarm) return;
    for (const wire of swarm.wires) {
      if (wire.peerChoking) continue;
      while (wire.requests.length < PIPELINE) {
        const fetch = this.#nextFetch(swarm, wire);
        if (!fetch) break;
        const length = Math.min(BLOCK, fetch.bytes.length - fetch.next);
        const wait = this.#download?.delayFor(length) ?? 0;
        if (wait > 0) {
          this.#scheduleLater(wait);
          return;
        }
        this.#download?.take(length);
        const offset = fetch.next;
        fetch.next += length;
        wire.request(fetch.index, offset, length, (err, block) =>
          this.#onBlock(swarm, fetch, offset, length, err, block),
        );
      }
    }
  }

  /** A piece this wire is fetching with blocks left to ask, or a new one it can fetch. */
  #nextFetch(swarm: Swarm, wire: Wire): PieceFetch | undefined {
    for (const f of swarm.fetching.values()) if (f.wire === wire && f.next < f.bytes.length) return f;
    const { store, wanted, have } = swarm;
    for (let i = 0; i < wanted!.length; i++) {
      if (!wanted![i] || have!.get(i) || swarm.fetching.has(i) || !wire.peerPieces.get(i)) continue;
      const fetch: PieceFetch = {
        index: i,
        wire,
        bytes: new Uint8Array(store!.pieceSize(i)),
        next: 0,
        received: 0,
      };
      swarm.fetching.set(i, fetch);
      return fetch;
    }
    return undefined;
  }

  #scheduleLater(ms: number): void {
    if (this.#scheduleTimer) return;
    this.#scheduleTimer = setTimeout(() => {
      this.#scheduleTimer = undefined;
      for (const swarm of this.#swarms.values()) this.#schedule(swarm);
    }, ms);
    this.#scheduleTimer.unref();
  }

  #onBlock(
    swarm: Swarm,
    fetch: PieceFetch,
    offset: number,
    length: number,
    err: Error | null,
    block: Uint8Array | null,
  ): void {
    if (swarm.fetching.get(fetch.index) !== fetch) return;
    if (err || !block || block.length !== length) {
      // Choked, timed out, closed or a wrong-sized block: the piece is free for any peer.
      swarm.fetching.delete(fetch.index);
      queueMicrotask(() => this.#schedule(swarm));
      return;
    }
    fetch.bytes.set(block, offset);
    fetch.received += length;
    if (fetch.received < fetch.bytes.length) {
      this.#schedule(swarm);
      return;
    }
    swarm.fetching.delete(fetch.index);
    const store = swarm.store!;
    if (!store.matches(fetch.index, fetch.bytes)) {
      const bad = (swarm.badPieces.get(fetch.wire) ?? 0) + 1;
      swarm.badPieces.set(fetch.wire, bad);
      if (bad >= MAX_BAD_PIECES) {
        if (fetch.wire.peerId) swarm.banned.add(fetch.wire.peerId);
        fetch.wire.destroy();
      }
      this.#schedule(swarm);
      return;
    }
    store.write(fetch.index, fetch.bytes);
    swarm.have!.set(fetch.index, true);
    swarm.haveCount++;
    for (const wire of swarm.wires) {
      wire.have(fetch.index);
      this.#updateInterest(swarm, wire);
    }
    this.#check(swarm);
    if (swarm.progress.size > 0) {
      const p = this.#progressOf(swarm);
      for (const l of swarm.progress) l(p);
    }
    this.#schedule(swarm);
  }

  #whenReady(swarm: Swarm, signal?: AbortSignal): Promise<TorrentMetadata> {
    if (swarm.failure) return Promise.reject(swarm.failure);
    if (swarm.meta) return Promise.resolve(swarm.meta);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m: TorrentMetadata) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(m);
        },
        reject: (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const i = swarm.metaWaiters.indexOf(waiter);
        if (i >= 0) swarm.metaWaiters.splice(i, 1);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      swarm.metaWaiters.push(waiter);
    });
  }

  #has(swarm: Swarm, first: number, end: number): boolean {
    for (let i = first; i < end; i++) if (!swarm.have!.get(i)) return false;
    return true;
  }

  #check(swarm: Swarm): void {
    for (const w of [...swarm.waiters]) {
      if (this.#has(swarm, w.first, w.end)) {
        swarm.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** As the simulated swarm reports it: pieces held in all, pieces asked for. */
  #progressOf(swarm: Swarm): TorrentProgress {
    let wanted = 0;
    for (const w of swarm.wanted ?? []) if (w) wanted++;
    return { infoHash: swarm.infoHash, piecesHave: swarm.haveCount, piecesWanted: wanted };
  }

  /** After a cancel: want only what the remaining waiters need. */
  #rewant(swarm: Swarm): void {
    if (!swarm.wanted) return;
    swarm.wanted.fill(0);
    for (const w of swarm.waiters) swarm.wanted.fill(1, w.first, w.end);
    for (const wire of swarm.wires) this.#updateInterest(swarm, wire);
  }

  async #fetch(swarm: Swarm, first: number, end: number, signal?: AbortSignal): Promise<void> {
    const meta = await this.#whenReady(swarm, signal);
    if (
      !Number.isInteger(first) ||
      !Number.isInteger(end) ||
      first < 0 ||
      end > meta.pieceCount ||
      first > end
    ) {
      throw new RangeError(
        `pieces [${first}, ${end}) are outside torrent ${meta.name} (${meta.pieceCount} pieces)`,
      );
    }
    signal?.throwIfAborted();
    if (swarm.failure) throw swarm.failure;
    if (first === end) return;
    swarm.wanted!.fill(1, first, end);
    if (this.#has(swarm, first, end)) return;
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { first, end, resolve, reject };
      const onAbort = () => {
        swarm.waiters.delete(waiter);
        this.#rewant(swarm);
        reject(abortError(signal!));
      };
      waiter.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      waiter.reject = (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      swarm.waiters.add(waiter);
      for (const wire of swarm.wires) this.#updateInterest(swarm, wire);
      this.#schedule(swarm);
    });
  }

  #handle(swarm: Swarm): TorrentDownload {
    return {
      infoHash: swarm.infoHash,
      metadata: (signal) => this.#whenReady(swarm, signal),
      downloadFile: async (path, signal) => {
        const meta = await this.#whenReady(swarm, signal);
        const file = meta.files.find((f) => f.path === path);
        if (!file) throw new TorrentRefused(`torrent ${meta.name} has no file named ${path}`);
        if (file.length === 0) return;
        const first = Math.floor(file.offset / meta.pieceLength);
        const end = Math.floor((file.offset + file.length - 1) / meta.pieceLength) + 1;
        await this.#fetch(swarm, first, end, signal);
      },
      downloadPieces: (first, end, signal) => this.#fetch(swarm, first, end, signal),
      onProgress: (listener): Unsubscribe => {
        swarm.progress.add(listener);
        return () => {
          swarm.progress.delete(listener);
        };
      },
    };
  }
}
