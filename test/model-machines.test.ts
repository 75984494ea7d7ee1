// Model-based tests of every machine (machines/definitions.ts) with xstate/graph.
//
// The model: each machine's own state tree, with every transition branch made an explicit
// event (`<state>|<event>#<branch>`: guards, delays, `always` and the onDone/onError of
// invocations become choices), so `createTestModel` traverses every branch. Its shortest
// and simple paths are the generated tests.
//
// The system under test: the machines composed with the simulated adapters, driven through
// a set of simulated worlds (rounds, late joiners, crashes, spec timing, protocol and
// support toggles, a torrent without index, an unseeded magnet, a corrupt archive, a stop,
// the §5.5 fault…). An inspector records every state each real actor entered and every
// transition it took (source, event, branch). Executing a path checks that every state
// and every transition on it happened in the real machines.
//
// The suite prints state and transition coverage per machine and fails when a path has a
// step the worlds never exercised, except the few listed in NOT_DRIVEN with the reason.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AnyStateMachine, createMachine, type InspectionEvent } from 'xstate';
import { createTestModel } from 'xstate/graph';
import type { TorrentClient } from '../adapters/ports/index.ts';
import { machines } from '../machines/definitions.ts';
import { DAY, HOUR, MINUTE, SECOND } from '../machines/options.ts';
import { createHarness, type Harness, type HarnessConfig } from '../scenarios/harness.ts';
import { buildTorrentFile, magnetFor, parseTorrentFile } from '../sim/torrent-file.ts';

const WEEK = 7 * DAY;

// ---------------------------------------------------------------- the model

interface DefNode {
  id: string;
  key: string;
  type: string;
  initial?: { target: DefNode[] };
  states: Record<string, DefNode>;
  transitions: Map<string, DefTransition[]>;
  always?: DefTransition[];
}
interface DefTransition {
  target?: DefNode[];
  eventType: string;
  source: DefNode;
}

/** The model's name of a transition branch. */
function edgeName(sourceId: string, eventType: string, branch: number): string {
  const short =
    eventType === ''
      ? 'always'
      : eventType.replace(/^xstate\.(after|done\.actor|error\.actor)\.[^.]*?\.?/, (m) => m);
  return `${sourceId}|${short}#${branch}`;
}

interface Edge {
  name: string;
  source: string;
  targets: string[];
}

function walk(n: DefNode, visit: (n: DefNode) => void): void {
  visit(n);
  for (const c of Object.values(n.states)) walk(c, visit);
}

function statesOf(m: AnyStateMachine): string[] {
  const out: string[] = [];
  walk(m.root as unknown as DefNode, (n) => {
    if (n !== (m.root as unknown)) out.push(n.id);
  });
  return out;
}

function edgesOf(m: AnyStateMachine): Edge[] {
  const out: Edge[] = [];
  walk(m.root as unknown as DefNode, (n) => {
    for (const [eventType, list] of n.transitions)
      list.forEach((t, i) => {
        out.push({
          name: edgeName(n.id, eventType, i),
          source: n.id,
          targets: (t.target ?? []).map((x) => x.id),
        });
      });
    (n.always ?? []).forEach((t, i) => {
      out.push({ name: edgeName(n.id, '', i), source: n.id, targets: (t.target ?? []).map((x) => x.id) });
    });
  });
  return out;
}

/** The machine's tree with each branch an unguarded event; no actions, invocations or delays. */
function skeleton(m: AnyStateMachine): AnyStateMachine {
  const edges = edgesOf(m);
  const config = (n: DefNode, root: boolean): Record<string, unknown> => {
    const c: Record<string, unknown> = {};
    if (root) c.id = n.id;
    if (n.type === 'final' || n.type === 'parallel') c.type = n.type;
    const initial = n.initial?.target[0];
    if (n.type === 'compound' && initial) c.initial = initial.key;
    const on: Record<string, unknown> = {};
    for (const e of edges.filter((x) => x.source === n.id))
      on[e.name] = e.targets.length > 0 ? { target: e.targets.map((t) => `#${t}`) } : {};
    if (Object.keys(on).length > 0) c.on = on;
    const states = Object.entries(n.states);
    if (states.length > 0) c.states = Object.fromEntries(states.map(([k, v]) => [k, config(v, false)]));
    return c;
  };
  return createMachine(config(m.root as unknown as DefNode, true) as never);
}

// ---------------------------------------------------------------- the system under test

interface Observed {
  states: Set<string>;
  edges: Set<string>;
}

const observed: Observed = { states: new Set(), edges: new Set() };

interface SnapshotLike {
  _nodes?: { id: string }[];
  children?: Record<string, { getSnapshot(): SnapshotLike } | undefined>;
}

function noteSnapshot(s: SnapshotLike | undefined): void {
  if (!s) return;
  for (const n of s._nodes ?? []) observed.states.add(n.id);
}

function noteTree(s: SnapshotLike | undefined): void {
  noteSnapshot(s);
  for (const child of Object.values(s?.children ?? {})) noteTree(child?.getSnapshot());
}

function inspector(ev: InspectionEvent): void {
  if (ev.type === '@xstate.snapshot') noteSnapshot(ev.snapshot as SnapshotLike);
  if (ev.type === '@xstate.microstep') {
    const ts = (ev as unknown as { _transitions: DefTransition[] })._transitions ?? [];
    for (const t of ts) {
      const src = t.source;
      const list =
        t.eventType === '' || t.eventType === undefined
          ? (src.always ?? [])
          : (src.transitions.get(t.eventType) ?? []);
      let i = list.indexOf(t);
      if (i < 0)
        i = list.findIndex(
          (x) => (x.target ?? []).map((y) => y.id).join() === (t.target ?? []).map((y) => y.id).join(),
        );
      observed.edges.add(edgeName(src.id, t.eventType ?? '', Math.max(0, i)));
    }
  }
}

/** Watch every actor of the harness now and after each (re)boot. */
function watch(h: Harness): void {
  const attached = new WeakSet<object>();
  const attach = () => {
    for (const n of [h.owner, ...h.members]) {
      const a = n.archive?.actor;
      if (!a || attached.has(a)) continue;
      attached.add(a);
      noteTree(a.getSnapshot() as unknown as SnapshotLike);
      a.system.inspect(inspector);
    }
  };
  attach();
  // actors boot at joinAt and on restart: look for new ones every simulated minute
  const tick = () => {
    attach();
    h.world.kernel.schedule(h.world.kernel.now() + MINUTE, 'model.watch', tick);
  };
  h.world.kernel.schedule(h.world.kernel.now() + 1, 'model.watch', tick);
}

async function drive(
  config: Partial<HarnessConfig>,
  script: (h: Harness) => void = () => {},
): Promise<Harness> {
  const h = await createHarness({ seed: 11, members: 2, messagesPerDay: 30, durationMs: 9 * DAY, ...config });
  watch(h);
  script(h);
  await h.run();
  return h;
}

/** The worlds that drive the machines; each is a named script on the harness. */
const WORLDS: [string, () => Promise<unknown>][] = [
  ['weekly rounds, a late joiner', () => drive({ durationMs: 16 * DAY, members: [{}, { joinAt: 9 * DAY }] })],
  [
    'owner crash and restart before and after a round',
    () =>
      drive({ durationMs: 23 * DAY }, (h) => {
        h.at(3 * DAY, () => h.crash('owner'));
        h.at(3 * DAY + HOUR, () => h.restart('owner'));
        h.at(15 * DAY, () => h.crash('owner'));
        h.at(17 * DAY, () => h.restart('owner'));
      }),
  ],
  [
    'spec timing: wait after the last magnetlink',
    () => drive({ options: { magnetlinkWaitMs: 20 * SECOND } }),
  ],
  [
    'protocol disabled and enabled, support toggled, leave and join',
    () =>
      drive({ durationMs: 16 * DAY }, (h) => {
        h.at(2 * DAY, () => h.members[0]?.archive?.disableProtocol());
        h.at(3 * DAY, () => h.members[0]?.archive?.enableProtocol());
        h.at(4 * DAY, () => h.owner.archive?.setArchiveSupport(h.communityId, false));
        h.at(5 * DAY, () => h.owner.archive?.setArchiveSupport(h.communityId, true));
        h.at(WEEK + 2 * DAY, () => h.members[1]?.archive?.leave(h.communityId));
        h.at(WEEK + 3 * DAY, () => h.members[1]?.archive?.join(h.community));
        h.at(WEEK + 4 * DAY, () => h.members[0]?.archive?.setImportRate('fast'));
      }),
  ],
  [
    'a node starting with the protocol off',
    () =>
      drive({ members: [{ protocolEnabled: false }] }, (h) =>
        h.at(DAY, () => h.members[0]?.archive?.enableProtocol()),
      ),
  ],
  [
    'a magnet nobody seeds (metadata timeout and retry), then a torrent without index',
    () =>
      drive({ durationMs: 2 * DAY, members: 2, messagesPerDay: 0 }, (h) => {
        h.at(HOUR, () =>
          h.members[0]?.archive?.requestToJoinResponse(
            h.communityId,
            magnetFor('ab'.repeat(20), h.communityId),
          ),
        );
        h.at(DAY, () => {
          const m2 = h.members[1];
          if (!m2) return;
          const data = new Uint8Array(h.options.pieceLength).fill(7);
          m2.adapters.fs.mkdirp(`/x/${h.communityId}`);
          m2.adapters.fs.writeAtomic(`/x/${h.communityId}/data`, data);
          const torrent = buildTorrentFile(h.communityId, h.options.pieceLength, [
            { path: 'data', bytes: data },
          ]);
          const magnet = magnetFor(parseTorrentFile(torrent).infoHash, h.communityId);
          void m2.adapters.torrent.seed(torrent, '/x').then(() => {
            h.members[0]?.archive?.requestToJoinResponse(h.communityId, magnet);
          });
        });
      }),
  ],
  ...[true, false].map((forever): [string, () => Promise<unknown>] => [
    `an archive that does not decode (retry forever: ${forever})`,
    () =>
      drive(
        {
          durationMs: WEEK + 10 * MINUTE,
          members: [{ joinAt: WEEK - MINUTE }],
          options: { retryCorruptArchiveForever: forever },
        },
        (h) =>
          h.at(WEEK + MINUTE, () => {
            const m = h.members[0];
            if (!m) return;
            const path = `/data/${h.communityId}/data`;
            m.adapters.fs.writeAtomic(path, new Uint8Array(m.adapters.fs.size(path)).fill(0xff));
          }),
      ),
  ]),
  [
    'a newer magnetlink during a download, and a member already up to date',
    () =>
      drive({ durationMs: 16 * DAY, members: [{ importRate: 'slow' }, {}] }, (h) => {
        h.at(WEEK + 2 * SECOND, () => {
          const link = h.summary().magnetlinks.at(-1);
          if (link) h.members[0]?.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
        });
        h.at(WEEK + DAY, () => {
          const link = h.summary().magnetlinks.at(-1);
          if (link) h.members[1]?.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
        });
      }),
  ],
  [
    'stopping the nodes',
    () =>
      drive({ durationMs: 9 * DAY }, (h) => {
        h.at(8 * DAY, () => {
          void h.owner.archive?.stop();
          void h.members[0]?.archive?.stop();
        });
      }),
  ],
  [
    '§5.5 bug switch: the community is deleted while the torrent starts seeding',
    () =>
      drive(
        {
          durationMs: WEEK + HOUR,
          members: 1,
          options: { crashOnMissingCommunity: true },
          adaptersFor: (node) => {
            if (node.id !== 'owner') return node.adapters;
            const t = node.adapters.torrent;
            const slow: TorrentClient = {
              get running() {
                return t.running;
              },
              start: () => t.start(),
              stop: () => t.stop(),
              seed: (file, dir) =>
                new Promise((resolve, reject) => {
                  node.adapters.clock.setTimeout(() => {
                    t.seed(file, dir).then(resolve, reject);
                  }, SECOND);
                }),
              add: (magnet, dir) => t.add(magnet, dir),
              remove: (x) => t.remove(x),
              active: () => t.active(),
              stats: () => t.stats(),
            };
            return { ...node.adapters, torrent: slow };
          },
        },
        (h) => h.at(WEEK + SECOND / 2, () => h.owner.archive?.deleteCommunity(h.communityId)),
      ),
  ],
];

// ---------------------------------------------------------------- the tests

/**
 * Branches no world drives, with the reason. A branch listed here that a world does
 * drive fails the suite too, so the list stays exact.
 */
const NOT_DRIVEN: Record<string, string> = {};

const coverage: string[] = [];

beforeAll(async () => {
  for (const [label, world] of WORLDS) {
    const t0 = performance.now();
    await world();
    process.stderr.write(`world "${label}": ${Math.round(performance.now() - t0)} ms\n`);
  }
}, 60_000);

afterAll(() => {
  process.stdout.write(
    `\nmodel coverage (states, transitions) over ${WORLDS.length} simulated worlds:\n${coverage.join('\n')}\n`,
  );
});

describe.each(Object.keys(machines).sort())('machine %s', (name) => {
  const machine = machines[name] as AnyStateMachine;
  const model = createTestModel(skeleton(machine), {
    events: edgesOf(machine).map((e) => ({ type: e.name })) as never,
  });
  const states = statesOf(machine);
  const edges = edgesOf(machine);

  const params = {
    states: Object.fromEntries(
      states.map((id) => [
        id.slice(machine.id.length + 1),
        () => {
          expect(observed.states, `state ${id} never entered`).toContain(id);
        },
      ]),
    ),
    events: Object.fromEntries(
      edges.map((e) => [
        e.name,
        () => {
          if (e.name in NOT_DRIVEN) return;
          expect(observed.edges, `transition ${e.name} never taken`).toContain(e.name);
        },
      ]),
    ),
  };

  test('shortest paths reach every state of the model, and the machines went through each', async () => {
    const paths = model.getShortestPaths();
    const reached = new Set<string>();
    for (const p of paths) {
      for (const n of (p.state as unknown as SnapshotLike)._nodes ?? []) reached.add(n.id);
      await p.test(params as never);
    }
    for (const id of states) expect(reached, `${id} unreachable in the model`).toContain(id);
  });

  test('simple paths cover every transition, and the machines took each', async () => {
    const paths = model.getSimplePaths();
    const taken = new Set<string>();
    for (const p of paths) {
      for (const s of p.steps) taken.add(s.event.type);
      await p.test(params as never);
    }
    // targetless branches (actions only) keep the state: the adjacency map still lists them
    for (const e of edges) {
      if (e.targets.length > 0) expect(taken, `${e.name} on no simple path`).toContain(e.name);
    }
    const seenStates = states.filter((s) => observed.states.has(s)).length;
    const seenEdges = edges.filter((e) => observed.edges.has(e.name)).length;
    coverage.push(
      `  ${name.padEnd(15)} states ${seenStates}/${states.length} (${Math.round((100 * seenStates) / states.length)}%), transitions ${seenEdges}/${edges.length} (${Math.round((100 * seenEdges) / edges.length)}%), ${paths.length} simple paths`,
    );
    for (const e of edges) {
      const driven = observed.edges.has(e.name);
      if (e.name in NOT_DRIVEN)
        expect(driven, `${e.name} is driven now: remove it from NOT_DRIVEN`).toBe(false);
      else expect(driven, `transition ${e.name} never taken by the machines`).toBe(true);
    }
  });
});
