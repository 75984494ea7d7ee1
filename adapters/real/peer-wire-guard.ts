// What a peer's messages may do to this process, on each connection webtorrent opens for a
// torrent (its 'wire' event, right after the handshake, before any message is parsed).
//
// - No message can throw out of the wire's parser. bittorrent-protocol runs every handler of
//   a message (its own, webtorrent's, the BEP 9/10 extensions') inside the socket's write
//   callback, so an exception there ended the process: ut_metadata stored a `data` message
//   into a buffer it had not made yet (a peer announcing ut_metadata but no metadata size),
//   or past its end (a piece number past the announced size). A message whose handling
//   throws now closes that one connection.
// - A `have` names a piece of the torrent (BEP 3). webtorrent's rarity map counts it at
//   `pieces[index]` without a check, and bittorrent-protocol reads the index as a signed
//   32-bit number: one `have` for piece 2^31 - 2 stretched that array to two billion
//   entries, which the next connection's recount filled one by one (gigabytes, minutes of
//   CPU: the seeder stopped answering and ignored SIGTERM). A `have` past the torrent's last
//   piece closes the connection, as libtorrent does.

/** The parts of a bittorrent-protocol wire the guard touches. */
interface GuardedWire {
  _onMessage(buffer: Uint8Array): void;
  _onHave(index: number): void;
  destroy(): void;
  [guarded]?: true;
}

interface PieceCount {
  /** Undefined or empty until the torrent's metadata is known. */
  readonly pieces?: ArrayLike<unknown> | null;
}

const guarded = Symbol('archivist.peerWireGuarded');

/** Guards `wire` (a connection of `torrent`) as the header says. Idempotent. */
export function guardWire(wire: GuardedWire, torrent: PieceCount): void {
  if (wire[guarded]) return;
  wire[guarded] = true;
  // The parser looks `_onMessage` up on the wire each time it waits for the next message,
  // so the instance's own property takes over from the next message on.
  const onMessage = wire._onMessage;
  wire._onMessage = function (this: GuardedWire, buffer: Uint8Array): void {
    try {
      onMessage.call(this, buffer);
    } catch {
      this.destroy();
    }
  };
  const onHave = wire._onHave;
  wire._onHave = function (this: GuardedWire, index: number): void {
    const count = torrent.pieces?.length ?? 0;
    // Before the metadata no piece count is known, and no rarity map exists yet to stretch.
    if (index < 0 || (count > 0 && index >= count)) {
      this.destroy();
      return;
    }
    onHave.call(this, index);
  };
}
