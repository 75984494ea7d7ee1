// Time is a port so that simulated runs use virtual time. The shape matches XState's
// `clock` actor option, so a Clock can be handed to createActor({ clock }) as is and
// every `after` transition runs on the same time source as the rest of the node.

export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the Unix epoch (virtual in simulation). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}
