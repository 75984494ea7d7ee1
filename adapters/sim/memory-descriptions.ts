// CommunityDescriptions in memory (tests; the simulated world keeps none).

import type { CommunityDescriptions } from '../../ports/community-descriptions.ts';

export class MemoryCommunityDescriptions implements CommunityDescriptions {
  readonly #descriptions = new Map<string, Uint8Array>();

  readDescription(communityId: string): Uint8Array | undefined {
    return this.#descriptions.get(communityId)?.slice();
  }

  writeDescription(communityId: string, description: Uint8Array): void {
    this.#descriptions.set(communityId, description.slice());
  }
}
