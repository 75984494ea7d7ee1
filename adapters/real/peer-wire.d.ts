// The parts of `bittorrent-protocol` 5 (BEP 3 peer wire, BEP 10 extensions) and
// `ut_metadata` 5 (BEP 9 metadata exchange) that adapters/real/bittorrent-client.ts uses;
// neither package ships type declarations.

declare module 'bittorrent-protocol' {
  import type { EventEmitter } from 'node:events';
  import type BitField from 'bitfield';

  export interface WireExtension {
    onHandshake?(infoHash: string, peerId: string, extensions: Record<string, boolean>): void;
    onExtendedHandshake?(handshake: Record<string, unknown>): void;
    onMessage?(buf: Uint8Array): void;
  }

  export interface WireExtensionClass {
    new (wire: Wire): WireExtension;
    prototype: { name: string };
  }

  export interface WireRequest {
    piece: number;
    offset: number;
    length: number;
  }

  /** A duplex stream (streamx): the socket is piped into it and it into the socket. */
  interface Wire extends NodeJS.ReadWriteStream {}

  class Wire extends EventEmitter {
    constructor(type?: string, peEnabled?: number);
    readonly peerId: string | null;
    readonly peerChoking: boolean;
    readonly peerInterested: boolean;
    readonly amChoking: boolean;
    readonly amInterested: boolean;
    readonly peerPieces: { get(index: number): boolean };
    readonly requests: WireRequest[];
    readonly destroyed: boolean;
    extendedHandshake: Record<string, unknown>;
    use(extension: WireExtensionClass): void;
    handshake(infoHash: string, peerId: string, extensions?: { dht?: boolean; fast?: boolean }): void;
    setKeepAlive(enable: boolean): void;
    setTimeout(ms: number, unref?: boolean): void;
    choke(): void;
    unchoke(): void;
    interested(): void;
    uninterested(): void;
    have(index: number): void;
    bitfield(bitfield: BitField | Uint8Array): void;
    request(
      index: number,
      offset: number,
      length: number,
      cb: (err: Error | null, block: Uint8Array | null) => void,
    ): void;
    destroy(): void;
    /** Names the torrent of an incoming encrypted handshake (after 'crypto-infohash'). */
    setInfoHash(infoHash: string): void;
    /** Opens an outgoing connection with the encryption handshake (needs peEnabled). */
    startEncryption(infoHash: string): void;
    // Internals the guarded subclass wraps (see bittorrent-client.ts).
    _write(data: Uint8Array, cb: (err: Error | null) => void): void;
    _onMessageLength(buffer: Uint8Array): void;
    _parse(size: number, parser: (buffer: Uint8Array) => void): void;
  }

  export default Wire;
}

declare module 'ut_metadata' {
  import type { EventEmitter } from 'node:events';
  import type Wire from 'bittorrent-protocol';

  export interface UtMetadata extends EventEmitter {
    readonly name: string;
    /** The info dictionary, once complete and matching the info-hash. */
    metadata?: Uint8Array;
    fetch(): void;
    cancel(): void;
    setMetadata(metadata: Uint8Array): Promise<boolean>;
    onMessage(buf: Uint8Array): void;
  }

  export interface UtMetadataClass {
    new (wire: Wire): UtMetadata;
    prototype: UtMetadata;
  }

  export default function utMetadata(metadata?: Uint8Array): UtMetadataClass;
}
