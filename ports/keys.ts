// Which community private keys this node holds. Holding the key is what makes a node the
// control node of a community. Signing and recovery themselves are pure functions
// (proto/signing.ts); only key custody is a port, because a host app keeps keys its own way.

export interface KeyStore {
  /** secp256k1 private key (32 bytes) of the community, when this node controls it. */
  communityPrivateKey(communityId: string): Uint8Array | undefined;
}
