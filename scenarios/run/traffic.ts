// A scenario's traffic: each `traffic` entry is a stream of the one generator
// (scenarios/traffic.ts), with its own PRNG stream; a sender must be up, online and a
// member of the community at the moment it posts.

import { byteKey } from '../../proto/byte-key.ts';
import type { Community } from '../schema.ts';
import { scheduleTraffic } from '../traffic.ts';
import type { RunContext } from './context.ts';

export interface PublishedMessage {
  t: number;
  communityId: string;
  /** Byte key of the message hash (proto/byte-key.ts). */
  hash: string;
}

/** Schedules every traffic entry of the scenario; returns the list the messages go into. */
export function scheduleScenarioTraffic(run: RunContext): PublishedMessage[] {
  const { plan, h, world } = run;
  const scenario = plan.scenario;
  const published: PublishedMessage[] = [];
  scenario.traffic.forEach((traffic, index) => {
    const spec = plan.communities[plan.communityIndex.get(traffic.community) as number] as Community;
    const c = run.community(traffic.community);
    const size = typeof traffic.size === 'number' ? { min: traffic.size, max: traffic.size } : traffic.size;
    scheduleTraffic(
      {
        perMs: traffic.rate.count / traffic.rate.perMs,
        from: traffic.from,
        to: Math.min(traffic.to ?? scenario.duration, scenario.duration),
        senders: (traffic.senders ?? scenario.nodes.map((n) => n.name)).map(plan.id),
        chats: (traffic.chats ?? spec.chats).map((chat) => spec.chats.indexOf(chat)),
        size,
      },
      world.rng(`scenario.traffic.${index}`),
      {
        kernel: world.kernel,
        start: h.start,
        canSend: (id) => {
          const node = h.node(id);
          return node.archive !== undefined && node.sim.online && run.membership.isMember(id, c);
        },
        send: (id, chat, bytes) => {
          const message = h.publish(id, chat, bytes, c.index);
          published.push({ t: world.kernel.now(), communityId: c.id, hash: byteKey(message.hash) });
        },
        // the harness stops its own scheduled work at a violation; so do the streams
        running: () => h.monitor.violation === undefined,
      },
    );
  });
  return published;
}
