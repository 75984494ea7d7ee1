// Chat traffic of a run, the one generator the harness and the scenario runner share. A
// stream of messages per spec: one kernel event a day draws that day's messages (the count
// from the rate, its fractional part by chance) at uniform times; each message goes out
// from a sender that can send at that moment, in one of the spec's chats, with a size in
// its range. A sender is found by a few uniform draws among the spec's senders, then by a
// scan, so a community of thousands costs a few draws per message, not a pass over all.

import type { Kernel } from '../sim/kernel.ts';
import type { Prng } from '../sim/prng.ts';

const DAY = 86_400_000;
/** Uniform draws before scanning every sender (most draws succeed at once in practice). */
const DRAWS = 8;

export interface TrafficSpec {
  /** Messages per ms (the rate). */
  perMs: number;
  /** Offsets from the start of the run, [from, to). */
  from: number;
  to: number;
  /** Who may send: node ids, drawn uniformly among those that can send then. */
  senders: readonly string[];
  /** Chat indexes of the community to post in, drawn uniformly. */
  chats: readonly number[];
  size: { min: number; max: number };
}

export interface TrafficTarget {
  kernel: Kernel;
  /** Virtual ms of the run's start. */
  start: number;
  /** Whether `sender` can send now (up, online, a member). */
  canSend(sender: string): boolean;
  /** Sends one message now. */
  send(sender: string, chatIndex: number, bytes: number): void;
  /** False stops every stream (a run that saw a violation). */
  running(): boolean;
}

function pickSender(spec: TrafficSpec, rng: Prng, target: TrafficTarget): string | undefined {
  const { senders } = spec;
  if (senders.length === 0) return undefined;
  for (let i = 0; i < DRAWS; i++) {
    const s = senders[rng.int(0, senders.length - 1)] as string;
    if (target.canSend(s)) return s;
  }
  const ready = senders.filter((s) => target.canSend(s));
  return ready.length === 0 ? undefined : rng.pick(ready);
}

/** Schedules one stream of messages on the kernel; `rng` is the stream's own. */
export function scheduleTraffic(spec: TrafficSpec, rng: Prng, target: TrafficTarget): void {
  const { kernel, start } = target;
  for (let day = spec.from; day < spec.to; day += DAY) {
    const sliceStart = day;
    kernel.schedule(start + sliceStart, 'traffic.day', () => {
      if (!target.running()) return;
      const end = Math.min(sliceStart + DAY, spec.to);
      const expected = spec.perMs * (end - sliceStart);
      const n = Math.floor(expected) + (rng.chance(expected - Math.floor(expected)) ? 1 : 0);
      const times: number[] = [];
      for (let i = 0; i < n; i++) times.push(rng.int(sliceStart, end - 1));
      times.sort((a, b) => a - b);
      for (const t of times) {
        kernel.schedule(start + t, 'traffic.msg', () => {
          if (!target.running()) return;
          const sender = pickSender(spec, rng, target);
          if (sender === undefined) return;
          target.send(sender, rng.pick(spec.chats), rng.int(spec.size.min, spec.size.max));
        });
      }
    });
  }
}
