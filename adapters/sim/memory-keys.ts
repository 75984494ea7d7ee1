// KeyStore in memory. Keys are kept across crashes (a host keeps them on disk). The node's
// identity is derived from its name, so a simulated node has the same identity in every
// run (no draw from the seeded streams: adding it changed no trace).

import type { KeyStore, NodeIdentity } from '../../ports/keys.ts';
import { generateCommunityKey, publicKeyOf } from '../../proto/signing.ts';

export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, Uint8Array>();
  readonly #nodeName: string;
  #identity: NodeIdentity | undefined;

  constructor(nodeName = 'node') {
    this.#nodeName = nodeName;
  }

  communityPrivateKey(communityId: string): Uint8Array | undefined {
    const k = this.#keys.get(communityId);
    return k ? k.slice() : undefined;
  }

  nodeIdentity(): NodeIdentity {
    if (!this.#identity) {
      const privateKey = generateCommunityKey(
        new TextEncoder().encode(`archivist node identity ${this.#nodeName}`),
      );
      this.#identity = { privateKey, publicKey: publicKeyOf(privateKey) };
    }
    return { privateKey: this.#identity.privateKey.slice(), publicKey: this.#identity.publicKey.slice() };
  }

  set(communityId: string, privateKey: Uint8Array): void {
    if (privateKey.length !== 32) throw new RangeError(`private key of ${communityId} must be 32 bytes`);
    this.#keys.set(communityId, privateKey.slice());
  }

  delete(communityId: string): void {
    this.#keys.delete(communityId);
  }

  communities(): string[] {
    return [...this.#keys.keys()].sort();
  }
}
