// A scenario's traffic: for each `traffic` entry, one kernel event a day draws that day's
// messages (count from the rate, fractional part by chance) at uniform times; each message
// goes out from a sender that is up, online and a member then, in one of the entry's chats,
// with a size in its range. Each entry has its own PRNG stream.

import { byteKey } from '../../proto/byte-key.ts';
import type { Community } from '../schema.ts';
import type { RunContext } from './context.ts';

const DAY = 86_400_000;

export interface PublishedMessage {
  t: number;
  communityId: string;
  /** Byte key of the message hash (proto/byte-key.ts). */
  hash: string;
}

/** Schedules every traffic entry of the scenario; returns the list the messages go into. */
export function scheduleTraffic(run: RunContext): PublishedMessage[] {
  const { plan, h, world } = run;
  const scenario = plan.scenario;
  const published: PublishedMessage[] = [];
  scenario.traffic.forEach((traffic, index) => {
    const rng = world.rng(`scenario.traffic.${index}`);
    const spec = plan.communities[plan.communityIndex.get(traffic.community) as number] as Community;
    const c = run.community(traffic.community);
    const chatIndexes = (traffic.chats ?? spec.chats).map((chat) => spec.chats.indexOf(chat));
    const senderIds = (traffic.senders ?? scenario.nodes.map((n) => n.name)).map(plan.id);
    const to = Math.min(traffic.to ?? scenario.duration, scenario.duration);
    const size = typeof traffic.size === 'number' ? { min: traffic.size, max: traffic.size } : traffic.size;
    const perMs = traffic.rate.count / traffic.rate.perMs;
    for (let from = traffic.from; from < to; from += DAY) {
      const sliceStart = from;
      h.at(sliceStart, () => {
        const end = Math.min(sliceStart + DAY, to);
        const expected = perMs * (end - sliceStart);
        const n = Math.floor(expected) + (rng.chance(expected - Math.floor(expected)) ? 1 : 0);
        const times: number[] = [];
        for (let i = 0; i < n; i++) times.push(rng.int(sliceStart, end - 1));
        times.sort((a, b) => a - b);
        for (const t of times) {
          h.at(t, () => {
            const ready = senderIds.filter((s) => {
              const node = h.node(s);
              return node.archive !== undefined && node.sim.online && run.membership.isMember(s, c);
            });
            if (ready.length === 0) return;
            const sender = rng.pick(ready);
            const message = h.publish(sender, rng.pick(chatIndexes), rng.int(size.min, size.max), c.index);
            published.push({ t: world.kernel.now(), communityId: c.id, hash: byteKey(message.hash) });
          });
        }
      });
    }
  });
  return published;
}
