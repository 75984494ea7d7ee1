// Evaluating a scenario's expectations against what a run observed. Pure: the runner
// gathers the observations, this file judges them and words each verdict.

import type { Expectation, InvariantName, Range, Scenario } from './schema.ts';
import { formatDuration } from './units.ts';

function durationRangeText(range: Range): string {
  const f = (ms: number) => formatDuration(ms);
  if (range.min !== undefined && range.min === range.max) return f(range.min);
  if (range.min !== undefined && range.max !== undefined) return `${f(range.min)}..${f(range.max)}`;
  if (range.min !== undefined) return `>= ${f(range.min)}`;
  if (range.max !== undefined) return `<= ${f(range.max)}`;
  return 'any time';
}

/** A duration measured on one node (undefined: it never happened, which no range accepts). */
function durationVerdict(
  label: string,
  actual: number | undefined,
  range: Range,
): { text: string; ok: boolean } {
  return {
    text: `${label} ${durationRangeText(range)} (got ${actual === undefined ? 'never' : formatDuration(actual)})`,
    ok: actual !== undefined && inRange(actual, range),
  };
}

/** A signal as it was emitted: by which node, for which community (scenario names). */
export interface ObservedSignal {
  t: number;
  node: string;
  community: string | undefined;
  name: string;
}

/** A node's final state for one community it was set up with. */
export interface ObservedMember {
  node: string;
  community: string;
  downloaded: number;
  imported: number;
  messagesImported: number;
  bytesDown: number;
  /** Messages of the community (sent by anyone during the run) that this node lacks. */
  missingMessages: number;
  /** Holds every message of every archive of the latest index the owner seeds. */
  fullHistory: boolean;
  member: boolean;
  magnetlinksReceived: number;
  /** Tasks by how they ended. */
  tasks: Record<string, number>;
  /** Ms from the node's latest start to the first moment after it that it held the full history. */
  timeToHistory?: number;
  /** Ms from its first import signal to its last archive imported. */
  importDuration?: number;
  /** Ms from the start of its node to its first import. */
  importStartedAfter?: number;
  /** Bytes of the largest archive it read for an import. */
  peakImportBytes?: number;
  /** Percent of the archives of the latest index it read that it imported. */
  progress?: number;
  /** Archives downloaded but not imported at the end. */
  pendingImports?: number;
  /** Failed imports by reason. */
  importFailures?: Record<string, number>;
  /** The highest temperature it reached (scenarios/monitors/temperature.ts). */
  temperature?: number;
  /** Times its torrent client failed to start. */
  torrentClientFailures?: number;
}

export interface ObservedRound {
  community: string;
  archives: number;
}

export interface ObservedMagnetlink {
  community: string;
  sender: string;
  accepted: boolean;
}

export interface Observations {
  signals: ObservedSignal[];
  members: ObservedMember[];
  nodeStates: Record<string, 'online' | 'offline' | 'crashed'>;
  rounds: ObservedRound[];
  magnetlinks: ObservedMagnetlink[];
  /** "ok" or a reason, per invariant the monitors checked. */
  invariants: Record<string, string>;
  /** "ok", "not checked" or a reason, per check beyond §10 (scenarios/checks.ts, scenarios/monitors/). */
  checks?: Record<string, string>;
  /** The same, counting only each node's own failures, by node name. */
  checksByNode?: Record<string, Record<string, string>>;
}

/** An invariant's or a check's verdict ("ok" or the failure; undefined: not checked) against what was expected. */
function heldOrNot(
  what: string,
  failing: string,
  result: string | undefined,
  expectHolds: boolean,
): { text: string; ok: boolean } {
  if (result === undefined) return { text: `${what} was not checked`, ok: false };
  const holds = result === 'ok';
  return {
    text: `${what} ${expectHolds ? 'holds' : failing} (${holds ? 'held' : result})`,
    ok: holds === expectHolds,
  };
}

function inRange(value: number, range: Range): boolean {
  return (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);
}

function rangeText(range: Range): string {
  if (range.min !== undefined && range.min === range.max) return `${range.min}`;
  if (range.min !== undefined && range.max !== undefined) return `${range.min}..${range.max}`;
  if (range.min !== undefined) return `>= ${range.min}`;
  if (range.max !== undefined) return `<= ${range.max}`;
  return 'any number';
}

function verdict(label: string, actual: number, range: Range): { text: string; ok: boolean } {
  return { text: `${label} ${rangeText(range)} (got ${actual})`, ok: inRange(actual, range) };
}

/** Judges one expectation; the text says what was expected and what happened. */
export function evaluateExpectation(e: Expectation, seen: Observations): { text: string; ok: boolean } {
  const own = (generated: { text: string; ok: boolean }) =>
    e.text ? { text: `${e.text} — ${generated.text}`, ok: generated.ok } : generated;

  if ('signal' in e) {
    const count = seen.signals.filter(
      (s) =>
        s.name === e.signal &&
        (e.node === undefined || s.node === e.node) &&
        (e.community === undefined || s.community === e.community),
    ).length;
    const range = e.never ? { min: 0, max: 0 } : (e.count ?? { min: 1 });
    const who = [e.node, e.community].filter(Boolean).join('/');
    return own(verdict(`signal ${e.signal}${who ? ` at ${who}` : ''}`, count, range));
  }
  if ('rounds' in e) {
    const rounds = seen.rounds.filter((r) => e.community === undefined || r.community === e.community);
    const parts = [verdict(`rounds${e.community ? ` of ${e.community}` : ''}`, rounds.length, e.rounds)];
    if (e.archives)
      parts.push(verdict('archives in the last round', rounds.at(-1)?.archives ?? 0, e.archives));
    if (e.largest)
      parts.push(
        verdict('archives in the largest round', Math.max(0, ...rounds.map((r) => r.archives)), e.largest),
      );
    return own({ text: parts.map((p) => p.text).join('; '), ok: parts.every((p) => p.ok) });
  }
  if ('magnetlinks' in e) {
    const count = seen.magnetlinks.filter(
      (m) =>
        (e.community === undefined || m.community === e.community) &&
        (e.sender === undefined || m.sender === e.sender) &&
        (e.accepted === undefined || m.accepted === e.accepted),
    ).length;
    const filters = [
      e.sender && `from ${e.sender}`,
      e.community && `of ${e.community}`,
      e.accepted !== undefined && (e.accepted ? 'accepted' : 'rejected'),
    ].filter(Boolean);
    return own(verdict(`magnetlinks${filters.length ? ` ${filters.join(' ')}` : ''}`, count, e.magnetlinks));
  }
  if ('invariant' in e)
    return own(heldOrNot(`invariant ${e.invariant}`, 'is violated', seen.invariants[e.invariant], e.holds));
  if ('check' in e) {
    const result = e.node === undefined ? seen.checks?.[e.check] : seen.checksByNode?.[e.node]?.[e.check];
    return own(
      heldOrNot(
        `check ${e.check}${e.node ? ` at ${e.node}` : ''}`,
        'fails',
        result === 'not checked' ? undefined : result,
        e.holds,
      ),
    );
  }
  // node expectation
  const parts: { text: string; ok: boolean }[] = [];
  const entries = seen.members.filter(
    (m) => m.node === e.node && (e.community === undefined || m.community === e.community),
  );
  const sum = (f: (m: ObservedMember) => number) => entries.reduce((acc, m) => acc + f(m), 0);
  const fields = ['downloaded', 'imported', 'messagesImported', 'bytesDown', 'missingMessages'] as const;
  for (const field of fields) {
    const range = e[field];
    if (range)
      parts.push(
        verdict(
          field,
          sum((m) => m[field]),
          range,
        ),
      );
  }
  if (e.magnetlinksReceived)
    parts.push(
      verdict(
        'magnetlinks received',
        sum((m) => m.magnetlinksReceived),
        e.magnetlinksReceived,
      ),
    );
  for (const [status, range] of Object.entries(e.tasks ?? {}))
    if (range)
      parts.push(
        verdict(
          `tasks ended ${status}`,
          sum((m) => m.tasks[status] ?? 0),
          range,
        ),
      );
  const measured = (f: (m: ObservedMember) => number | undefined): number | undefined => {
    const values = entries.map(f).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : Math.max(...values);
  };
  const durations = [
    ['timeToHistory', 'time to the full history'],
    ['importDuration', 'import took'],
    ['importStartedAfter', 'first import after its start'],
  ] as const;
  for (const [field, label] of durations) {
    const range = e[field];
    if (range)
      parts.push(
        durationVerdict(
          label,
          measured((m) => m[field]),
          range,
        ),
      );
  }
  const maxima = [
    ['peakImportBytes', 'peak import bytes'],
    ['progress', 'progress %'],
    ['temperature', 'highest temperature'],
  ] as const;
  for (const [field, label] of maxima) {
    const range = e[field];
    if (range) parts.push(verdict(label, measured((m) => m[field]) ?? 0, range));
  }
  const sums = [
    ['pendingImports', 'archives waiting for import'],
    ['torrentClientFailures', 'torrent client start failures'],
  ] as const;
  for (const [field, label] of sums) {
    const range = e[field];
    if (range)
      parts.push(
        verdict(
          label,
          sum((m) => m[field] ?? 0),
          range,
        ),
      );
  }
  for (const [reason, range] of Object.entries(e.importFailures ?? {}))
    if (range)
      parts.push(
        verdict(
          `imports failed (${reason})`,
          sum((m) => m.importFailures?.[reason] ?? 0),
          range,
        ),
      );
  if (e.fullHistory !== undefined) {
    const has = entries.length > 0 && entries.every((m) => m.fullHistory);
    parts.push({
      text: `${e.fullHistory ? 'holds' : 'lacks'} the full history (${has ? 'holds' : 'lacks'})`,
      ok: has === e.fullHistory,
    });
  }
  if (e.member !== undefined) {
    const is = entries.some((m) => m.member);
    parts.push({
      text: `${e.member ? 'is' : 'is not'} a member (${is ? 'is' : 'is not'})`,
      ok: is === e.member,
    });
  }
  if (e.state !== undefined) {
    const state = seen.nodeStates[e.node] ?? 'offline';
    parts.push({ text: `ends ${e.state} (${state})`, ok: state === e.state });
  }
  if (parts.length === 0) parts.push({ text: 'exists', ok: e.node in seen.nodeStates });
  const prefix = `${e.node}${e.community ? `/${e.community}` : ''}: `;
  return own({ text: prefix + parts.map((p) => p.text).join('; '), ok: parts.every((p) => p.ok) });
}

/**
 * Invariants whose violation the scenario expects (an `invariant` expectation with
 * `holds: false`): their own failure does not fail the run, the expectation judges them.
 */
export function expectedViolations(scenario: Scenario): Set<InvariantName> {
  const out = new Set<InvariantName>();
  for (const e of scenario.expect) if ('invariant' in e && !e.holds) out.add(e.invariant);
  return out;
}

/** A one-line description of a timeline action, for logs and the report. */
export function describeAt(ms: number): string {
  return `+${formatDuration(ms)}`;
}
