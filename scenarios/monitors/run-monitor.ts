// What a monitor of a run beyond §10 is (scenarios/monitors/): it watches the node signals as
// they are emitted (and the nodes' boots), keeps its failures with the node and the virtual
// time, and says whether it saw anything to judge. A scenario judges one with a `check:`
// expectation (optionally for one node); the result lists each monitor's first failure.

import type { NodeSignal } from '../../machines/signals.ts';
import type { HarnessNode } from '../harness.ts';

export interface MonitorFailure {
  /** Harness id of the node. */
  node: string;
  t: number;
  text: string;
}

export interface RunMonitor {
  readonly name: string;
  /** Every node signal, in emission order. */
  onSignal(node: HarnessNode, signal: NodeSignal): void;
  /** A node's actor was created (its start, first or after a restart). */
  onBoot?(node: HarnessNode, t: number): void;
  /** The run ended at `t` (a monitor judging what is left undone does it here). */
  finish?(t: number): void;
  failures(): readonly MonitorFailure[];
  /** Whether the run gave the monitor anything to judge (else its verdict is "not checked"). */
  exercised(): boolean;
}
