// The part of webtorrent 3's API that adapters/real/webtorrent-client.ts uses (the package
// ships no type declarations).

declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:net';

  interface WebTorrentOptions {
    dht?: boolean;
    tracker?: boolean;
    lsd?: boolean;
    natUpnp?: boolean;
    natPmp?: boolean;
    utp?: boolean;
    utPex?: boolean;
    webSeeds?: boolean;
    torrentPort?: number;
    maxConns?: number;
    downloadLimit?: number;
    uploadLimit?: number;
  }

  interface AddOptions {
    path?: string;
    deselect?: boolean;
    skipVerify?: boolean;
    storeCacheSlots?: number;
  }

  interface BitField {
    get(index: number): boolean;
  }

  interface TorrentFile {
    readonly name: string;
    readonly path: string;
    readonly length: number;
    readonly offset: number;
    readonly _startPiece: number;
    readonly _endPiece: number;
  }

  interface Torrent extends EventEmitter {
    readonly infoHash: string;
    readonly name: string;
    /** The parent folder the torrent's `<name>/<file>` paths are under. */
    readonly path: string;
    readonly pieceLength: number;
    readonly pieces: unknown[];
    readonly files: TorrentFile[];
    readonly bitfield: BitField;
    readonly ready: boolean;
    readonly done: boolean;
    readonly destroyed: boolean;
    readonly metadata: Uint8Array | null;
    readonly torrentFile: Uint8Array;
    readonly info: unknown;
    readonly numPeers: number;
    addPeer(peer: string): boolean;
    select(start: number, end: number, priority?: number | boolean): void;
    deselect(start: number, end: number): void;
    destroy(opts?: { destroyStore?: boolean }, cb?: (err?: Error | null) => void): void;
  }

  class WebTorrent extends EventEmitter {
    constructor(opts?: WebTorrentOptions);
    readonly torrents: Torrent[];
    readonly listening: boolean;
    readonly destroyed: boolean;
    torrentPort: number;
    readonly _connPool: { tcpServer: Server } | null;
    add(torrentId: string | Uint8Array, opts?: AddOptions): Torrent;
    address(): { address: string; family: string; port: number } | null;
    destroy(cb?: (err?: Error | null) => void): void;
  }

  export default WebTorrent;
  export type { Torrent, TorrentFile };
}
