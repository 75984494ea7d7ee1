// `--inspect <file>`: XState's inspection events of every node's actors as JSON lines, a
// local sink that works without network (Stately's own inspector is a web page; see
// docs/machines.md for watching a run there). One line per event, in the order they
// happen, each with the node, the virtual time and the actor:
//   {"t":…,"node":"alice","actor":"a7","kind":"actor","id":"community:0x02…","parent":"a3","machine":"member"}
//   {"t":…,"node":"alice","actor":"a7","kind":"event","source":"a8","event":{"type":"MAGNETLINK",…}}
//   {"t":…,"node":"alice","actor":"a7","kind":"action","action":"noteLink"}
//   {"t":…,"node":"alice","actor":"a7","kind":"microstep","event":"MAGNETLINK","transitions":[{"source":"member.idle","targets":["member.quietOrTask"]}],"status":"active","value":"quietOrTask"}
//   {"t":…,"node":"alice","actor":"a7","kind":"snapshot","event":"MAGNETLINK","status":"active","value":{"task":"downloading"}}
// Events keep only their scalar fields (strings, numbers, booleans): payloads such as
// archives and keys stay out of the file.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ActorRefLike, InspectionEvent } from 'xstate';
import { UserError } from '../errors/user-error.ts';

export type InspectionRecord = Record<string, unknown> & { t: number; node: string; kind: string };

interface TransitionLike {
  source?: { id: string };
  target?: { id: string }[];
}

function machineOf(ref: ActorRefLike): string | undefined {
  const logic = (ref as unknown as { logic?: { id?: unknown } }).logic;
  return typeof logic?.id === 'string' ? logic.id : undefined;
}

/** The event's type and its scalar fields. */
function eventOf(event: { type: string } & Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: event.type };
  for (const [k, v] of Object.entries(event))
    if (k !== 'type' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
      out[k] = v;
  return out;
}

function snapshotFields(snapshot: unknown): Record<string, unknown> {
  const s = snapshot as { status?: unknown; value?: unknown } | undefined;
  const out: Record<string, unknown> = {};
  if (s && typeof s.status === 'string') out.status = s.status;
  if (s && s.value !== undefined) out.value = s.value;
  return out;
}

/**
 * A function turning inspection events into plain, JSON-safe records. Actors are named by
 * the order in which this recorder first sees them ("a1", "a2", …), not by XState's session
 * ids, which count across every run of the process: the same run gives the same lines.
 */
export function inspectionRecorder(): (event: InspectionEvent, node: string, t: number) => InspectionRecord {
  const names = new Map<string, string>();
  const actorOf = (ref: ActorRefLike | undefined): string | undefined => {
    if (!ref) return undefined;
    let name = names.get(ref.sessionId);
    if (name === undefined) {
      name = `a${names.size + 1}`;
      names.set(ref.sessionId, name);
    }
    return name;
  };
  return (event, node, t) => inspectionRecord(event, node, t, actorOf);
}

function inspectionRecord(
  event: InspectionEvent,
  node: string,
  t: number,
  actorOf: (ref: ActorRefLike | undefined) => string | undefined,
): InspectionRecord {
  const actor = actorOf(event.actorRef);
  const base = { t, node, actor };
  switch (event.type) {
    case '@xstate.actor': {
      const parent = actorOf((event.actorRef as unknown as { _parent?: ActorRefLike })._parent);
      const machine = machineOf(event.actorRef);
      // a root actor's id is its session id, which counts across the process's runs
      const id = (event.actorRef as unknown as { id: string }).id;
      return {
        ...base,
        kind: 'actor',
        ...(id !== event.actorRef.sessionId ? { id } : {}),
        ...(parent ? { parent } : {}),
        ...(machine ? { machine } : {}),
      };
    }
    case '@xstate.event': {
      const source = actorOf(event.sourceRef);
      return { ...base, kind: 'event', ...(source ? { source } : {}), event: eventOf(event.event) };
    }
    case '@xstate.microstep': {
      const transitions = (event as unknown as { _transitions?: TransitionLike[] })._transitions ?? [];
      return {
        ...base,
        kind: 'microstep',
        event: event.event.type,
        transitions: transitions.map((tr) => ({
          source: tr.source?.id,
          targets: (tr.target ?? []).map((x) => x.id),
        })),
        ...snapshotFields(event.snapshot),
      };
    }
    case '@xstate.snapshot':
      return { ...base, kind: 'snapshot', event: event.event.type, ...snapshotFields(event.snapshot) };
    case '@xstate.action':
      return { ...base, kind: 'action', action: event.action.type };
    default:
      return { ...base, kind: (event as { type: string }).type };
  }
}

export interface InspectionFile {
  /** The runner's `inspect` option. */
  inspect(event: InspectionEvent, node: string, t: number): void;
  /** Lines written so far. */
  readonly lines: number;
  /** Writes what is buffered (called between slices of the run, so the file follows it live). */
  flush(): void;
  close(): void;
}

/** Opens `file` for the inspection lines of one run (truncating it). */
export function openInspectionFile(file: string): InspectionFile {
  let fd: number;
  try {
    mkdirSync(dirname(file), { recursive: true });
    fd = openSync(file, 'w');
  } catch (error) {
    throw new UserError(
      `--inspect: ${file}: cannot write (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  const record = inspectionRecorder();
  let buffer: string[] = [];
  let size = 0;
  let lines = 0;
  const flush = (): void => {
    if (buffer.length === 0) return;
    writeSync(fd, `${buffer.join('\n')}\n`);
    buffer = [];
    size = 0;
  };
  return {
    inspect(event, node, t) {
      const line = JSON.stringify(record(event, node, t));
      buffer.push(line);
      size += line.length;
      lines++;
      if (size > 1 << 20) flush();
    },
    get lines() {
      return lines;
    },
    flush,
    close() {
      flush();
      closeSync(fd);
    },
  };
}
