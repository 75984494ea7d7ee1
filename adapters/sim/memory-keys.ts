// KeyStore in memory. Keys are kept across crashes (a host keeps them on disk).

import type { KeyStore } from '../../ports/keys.ts';

export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, Uint8Array>();

  communityPrivateKey(communityId: string): Uint8Array | undefined {
    const k = this.#keys.get(communityId);
    return k ? k.slice() : undefined;
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
