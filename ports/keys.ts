// Which keys this node holds. Holding a community's key is what makes a node the control
// node of that community; the node's own identity key signs what the node itself sends on
// real Waku (protocol.md §12) and names it as the `created by` of the torrents it writes.
// Signing and recovery themselves are pure functions (proto/signing.ts); only key custody
// is a port, because a host app keeps keys its own way.

/** A node's identity key pair (secp256k1), the reference's "identity" of a Status account. */
export interface NodeIdentity {
  /** 32 bytes. */
  privateKey: Uint8Array;
  /** 65 bytes, uncompressed (0x04 ‖ x ‖ y), as the reference writes public keys. */
  publicKey: Uint8Array;
}

export interface KeyStore {
  /** secp256k1 private key (32 bytes) of the community, when this node controls it. */
  communityPrivateKey(communityId: string): Uint8Array | undefined;
  /** This node's identity. */
  nodeIdentity(): NodeIdentity;
}
