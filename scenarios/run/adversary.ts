// The links on a community's magnetlink channel that the timeline injects (forged,
// replayed, announcing a torrent without `index`) next to those the control nodes'
// machines dispatched. Injected links are built exactly as the machines build theirs
// (proto/magnetlink-channel.ts); the result attributes each receipt to its send.

import type { SimWorld } from '../../adapters/sim/world.ts';
import { magnetlinkChannelMessage, magnetlinkTopicOf } from '../../proto/magnetlink-channel.ts';
import type { Harness, HarnessCommunity, HarnessNode } from '../harness.ts';

export interface SentLink {
  t: number;
  communityId: string;
  sender: string;
  clock: number;
  magnetUri: string;
  /** `dispatched` by a control node's machine, or injected by the timeline. */
  how: 'dispatched' | 'forged' | 'replayed' | 'withoutIndex';
}

export class Adversary {
  /** Links the timeline injected, in sending order. */
  readonly sent: SentLink[] = [];
  readonly #h: Harness;
  readonly #world: SimWorld;
  readonly #allNodes: HarnessNode[];
  readonly #nameOf: (nodeId: string) => string;

  constructor(h: Harness, allNodes: HarnessNode[], nameOf: (nodeId: string) => string) {
    this.#h = h;
    this.#world = h.world;
    this.#allNodes = allNodes;
    this.#nameOf = nameOf;
  }

  /** Publish a link signed by `priv` on `c`'s channel from `senderId`. */
  send(
    c: HarnessCommunity,
    senderId: string,
    priv: Uint8Array,
    clock: number,
    magnetUri: string,
    how: SentLink['how'],
  ): void {
    const onChannel = magnetlinkChannelMessage(magnetlinkTopicOf(c.id), priv, clock, magnetUri);
    this.sent.push({
      t: this.#world.kernel.now(),
      communityId: c.id,
      sender: this.#nameOf(senderId),
      clock,
      magnetUri,
      how,
    });
    void this.#h.node(senderId).adapters.messaging.publish({ pubsubTopic: c.pubsubTopic, ...onChannel });
  }

  /** Links the control nodes' machines dispatched so far, oldest first. */
  dispatched(communityId?: string): SentLink[] {
    const out: SentLink[] = [];
    for (const n of this.#allNodes)
      for (const s of n.log)
        if (
          s.type === 'archive.magnetlinkDispatched' &&
          (communityId === undefined || s.communityId === communityId)
        )
          out.push({
            t: s.t,
            communityId: s.communityId,
            sender: this.#nameOf(n.id),
            clock: s.clock,
            magnetUri: s.magnetUri,
            how: 'dispatched',
          });
    return out.sort((a, b) => a.t - b.t || a.clock - b.clock);
  }
}
