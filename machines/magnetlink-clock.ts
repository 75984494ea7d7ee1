// §6.1's clock check, with an optional bound on how far ahead of this node's clock a link's
// clock may be. The reference takes any clock a link signed by the owner carries and stores
// it: one link with clock 2^64 - 1 (by a buggy owner, or a leaked key) then makes every later
// link "lower" for ever. With the bound on, such a link is ignored, and a stored clock past
// the bound (from before the bound was on) no longer blocks anything.

import type { MachineOptions } from './options.ts';

export type ClockReason = 'lower clock' | 'clock too far ahead';

/** Why a link with `clock` is ignored given the `stored` magnetlink clock and `now` (all ms); undefined = accepted. */
export function magnetlinkClockReason(
  clock: number,
  stored: number | undefined,
  now: number,
  options: Pick<MachineOptions, 'boundMagnetlinkClock' | 'magnetlinkClockMaxAheadMs'>,
): ClockReason | undefined {
  let blocking = stored;
  if (options.boundMagnetlinkClock) {
    const limit = now + options.magnetlinkClockMaxAheadMs;
    // Past 2^53 a uint64 clock is no longer an exact number: never one to keep.
    if (!Number.isSafeInteger(clock) || clock > limit) return 'clock too far ahead';
    if (blocking !== undefined && blocking > limit) blocking = undefined;
  }
  if (blocking !== undefined && clock < blocking) return 'lower clock';
  return undefined;
}
