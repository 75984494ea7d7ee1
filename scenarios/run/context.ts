// What the parts of a run share once the world is built: the plan, the harness, the
// scenario's view of membership, the links the adversary sent, and the damage done to
// nodes' disks. The timeline's action handlers (scenarios/faults/) act through it.

import type { SimWorld } from '../../adapters/sim/world.ts';
import type { AppliedAction } from '../faults/windows.ts';
import type { Harness, HarnessCommunity, HarnessNode } from '../harness.ts';
import type { Action } from '../schema.ts';
import type { Adversary } from './adversary.ts';
import type { DiskDamage } from './disk-damage.ts';
import type { KeyGate } from './key-gate.ts';
import type { Membership } from './membership.ts';
import type { RunPlan } from './plan.ts';

/** What the timeline's action handlers need (a harness without a scenario can supply it too). */
export interface ActionContext {
  plan: Pick<RunPlan, 'id' | 'name' | 'node' | 'joinedAtStart' | 'others'>;
  h: Harness;
  world: SimWorld;
  /** Owner first, then the members, as the harness made them. */
  allNodes: HarnessNode[];
  membership: Membership;
  adversary: Adversary;
  disk: DiskDamage;
  /** Decryption keys members lack (encrypted runs whose timeline withholds keys or restores a node). */
  keys: KeyGate | undefined;
  /** The harness community of a scenario community name. */
  community(name: string): HarnessCommunity;
  /** Record that an action could not be carried out, and why. */
  skipped(action: Action, reason: string): void;
  /** The seeding delay of every node's torrent client. */
  setSeedDelay(ms: number): void;
}

/** The context of a scenario run. */
export interface RunContext extends ActionContext {
  plan: RunPlan;
  /** The timeline's actions as carried out so far, in order (fault windows read them). */
  applied: AppliedAction[];
}
