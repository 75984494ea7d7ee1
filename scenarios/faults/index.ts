// The registry of fault kinds and the handler of every timeline action. Scenarios name
// actions (`do:`), the explorer draws kinds, the model-based worlds inject actions: all of
// them through this file, so a fault is declared once, in the file of its layer.

import type { Action } from '../schema.ts';
import { backupHandlers, restoreFromBackup } from './backup-restore.ts';
import {
  contentCorruptBlocks,
  contentHandlers,
  contentMissingBlocks,
  contentSlowProvider,
  storeNodeLeaves,
} from './content-faults.ts';
import { corruptionHandlers, corruptPieces, corruptStoredArchive } from './corruption.ts';
import { keyHandlers, lateKey } from './decryption-keys.ts';
import type { ActionHandler, FaultKind } from './fault-kind.ts';
import { archiveSupport, hostHandlers, importRate, leave, protocol } from './host-settings.ts';
import { deleteFile, localFileHandlers } from './local-files.ts';
import {
  bandwidth,
  duplication,
  latency,
  loss,
  networkHandlers,
  partition,
  reordering,
  slowSeeding,
} from './network-faults.ts';
import { crash, nodeHandlers, offline } from './node-faults.ts';
import { handOver, ownershipHandlers } from './ownership.ts';
import { portFault, portHandlers } from './port-faults.ts';
import {
  adversaryHandlers,
  dispatchWithoutIndex,
  forgeMagnetlink,
  replayMagnetlink,
} from './relay-adversary.ts';
import { secondControlNode } from './second-control-node.ts';

export type { DrawContext, DrawnFault, FaultKind, FaultLayer, NodeRef, TimedAction } from './fault-kind.ts';
export { HEALTHY_BANDWIDTH, HEALTHY_LATENCY } from './network-faults.ts';

/** Every fault kind, in the explorer's order (its draws depend on this order). */
export const FAULTS: readonly FaultKind[] = [
  offline,
  crash,
  partition,
  loss,
  duplication,
  reordering,
  latency,
  bandwidth,
  corruptPieces,
  corruptStoredArchive,
  slowSeeding,
  leave,
  protocol,
  archiveSupport,
  forgeMagnetlink,
  replayMagnetlink,
  dispatchWithoutIndex,
  secondControlNode,
  portFault,
  importRate,
  // not drawn unless `--faults` names them (the default draws, and so the seeds, stay as they were)
  deleteFile,
  lateKey,
  restoreFromBackup,
  handOver,
  contentMissingBlocks,
  contentCorruptBlocks,
  contentSlowProvider,
  storeNodeLeaves,
];

export function faultKind(name: string): FaultKind | undefined {
  return FAULTS.find((k) => k.name === name);
}

/** The handler of each timeline action. */
export const ACTION_HANDLERS: { [D in Action['do']]: ActionHandler<D> } = {
  ...nodeHandlers,
  ...hostHandlers,
  ...networkHandlers,
  ...corruptionHandlers,
  ...adversaryHandlers,
  ...portHandlers,
  ...localFileHandlers,
  ...keyHandlers,
  ...backupHandlers,
  ...ownershipHandlers,
  ...contentHandlers,
};
