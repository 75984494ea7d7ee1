// Port calls made from the machines' actions. An entry action starts the call; its outcome
// comes back to the actor as an event, `<NAME>.DONE` with the output or `<NAME>.FAILED`
// with the error, so every wait is a state with named transitions (drawable, and modelled
// like any other event) and a round costs no new actors.
//
// An actor has one slot: starting a call, or leaving the state that made it (`cancel`),
// aborts the call before it and drops its outcome, so a late answer can never land in a
// later state. When the actor stops (`slotLifetime`), the call's wait is aborted too; a call
// that completes all the same (one that takes no signal) is handed to its `orphaned`
// continuation, if it has one: the reference's work goes on when the task that started it
// is gone (see the control node's round).

import { type EventObject, fromCallback } from 'xstate';

export interface EffectSlot {
  /** Bumped by every start and cancel; an outcome is delivered only under its own ticket. */
  ticket: number;
  controller: AbortController | undefined;
}

export const newEffectSlot = (): EffectSlot => ({ ticket: 0, controller: undefined });

/** Why a call was aborted: one shared reason (a DOMException per abort costs its stack trace). */
const LEFT = new DOMException('the state waiting for this call was left', 'AbortError');

/** The outcome events of the call named `N`. */
export type EffectEvent<N extends string, T> =
  | { type: `${N}.DONE`; output: T }
  | { type: `${N}.FAILED`; error: unknown };

interface Receiver {
  send(event: { type: string; output?: unknown; error?: unknown }): void;
  getSnapshot(): { status: string };
}

/**
 * Starts `work`, delivering `${name}.DONE` / `${name}.FAILED` to `self` unless cancelled
 * first; when it succeeds after `self` stopped, `orphaned` gets its output.
 */
export function startEffect<T>(
  slot: EffectSlot,
  self: Receiver,
  name: string,
  work: (signal: AbortSignal) => Promise<T>,
  orphaned?: (output: T) => void,
): void {
  slot.controller?.abort(LEFT);
  const controller = new AbortController();
  slot.controller = controller;
  const ticket = ++slot.ticket;
  const settled = (): void => {
    if (slot.controller === controller) slot.controller = undefined;
  };
  let pending: Promise<T>;
  try {
    pending = work(controller.signal);
  } catch (error) {
    pending = Promise.reject(error);
  }
  pending.then(
    (output) => {
      settled();
      if (slot.ticket !== ticket) return;
      if (self.getSnapshot().status === 'active') self.send({ type: `${name}.DONE`, output });
      else orphaned?.(output);
    },
    (error: unknown) => {
      settled();
      if (slot.ticket === ticket && self.getSnapshot().status === 'active')
        self.send({ type: `${name}.FAILED`, error });
    },
  );
}

/** Aborts the slot's call, if any, and drops its outcome. */
export function cancelEffect(slot: EffectSlot): void {
  slot.ticket++;
  slot.controller?.abort(LEFT);
  slot.controller = undefined;
}

/** Invoked at a machine's root: aborts the slot's wait when the actor stops (outcomes go to `orphaned`). */
export const slotLifetime = fromCallback<EventObject, { slot: EffectSlot }>(({ input }) => () => {
  input.slot.controller?.abort(LEFT);
  input.slot.controller = undefined;
});
