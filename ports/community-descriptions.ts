// The encoded CommunityDescription a node holds per community (protocol.md §12). archivist
// models only the archive field of it (proto/community-description.ts): a control node's
// dispatch writes the magnetlink clock into field 9, as the reference does before it next
// publishes the description. Optional in NodeAdapters: simulated runs keep no descriptions.

export interface CommunityDescriptions {
  /** The encoded description, when the node holds one. */
  readDescription(communityId: string): Uint8Array | undefined;
  /** Replaces the encoded description (atomically). */
  writeDescription(communityId: string, description: Uint8Array): void;
}
