// A small world exercising every part of the simulator (relay with faults, store, swarm
// with a corrupted piece, crash and restart). The determinism test runs it in separate
// processes and compares trace hashes: `node sim/demo.ts <seed>` prints {seed, hash, lines}.

import type { RelayMessage } from '../../ports/messaging.ts';
import { buildTorrentFile, magnetFor, parseTorrentFile } from '../../sim/torrent-file.ts';
import { SimWorld } from './world.ts';

const PUBSUB = '/waku/2/demo/proto';
const TOPIC = '/waku/1/0x01020304/rfc26';

export async function runDemo(
  seed: number,
): Promise<{ hash: string; lines: number; events: number; downloaded: number; storeAnswers: number[] }> {
  const world = new SimWorld({
    seed,
    startTime: Date.UTC(2026, 0, 5),
    network: {
      latency: { kind: 'lognormal', medianMs: 60, sigma: 0.5 },
      loss: 0.05,
      duplicate: 0.05,
      reorder: 0.1,
    },
    trace: { keepLines: false },
  });
  const rng = world.rng('demo');
  const nodes = Array.from({ length: 12 }, (_, i) =>
    world.addNode({
      id: `n${i}`,
      uploadBps: rng.int(500_000, 3_000_000),
      downloadBps: rng.int(2_000_000, 10_000_000),
    }),
  );
  for (const n of nodes) n.adapters.messaging.subscribe(PUBSUB, [TOPIC], () => {});

  // chat traffic
  const start = world.kernel.now();
  for (let i = 0; i < 40; i++) {
    const from = rng.pick(nodes);
    const at = start + rng.int(0, 60_000);
    world.kernel.schedule(at, 'demo.publish', () => {
      const payload = rng.bytes(rng.int(10, 200));
      const msg: RelayMessage = {
        pubsubTopic: PUBSUB,
        contentTopic: TOPIC,
        message: {
          sig: rng.bytes(65),
          timestamp: Math.floor(world.kernel.now() / 1000),
          topic: new Uint8Array([1, 2, 3, 4]),
          payload,
          padding: new Uint8Array(0),
          hash: rng.bytes(32),
          thirdPartyId: '',
        },
      };
      void from.adapters.messaging.publish(msg);
    });
  }

  // a torrent seeded by n0, fetched by everyone else; n1 uploads one bad piece
  const owner = nodes[0]!;
  const P = 16384;
  const data = rng.bytes(400 * P);
  const index = rng.bytes(900);
  owner.adapters.fs.mkdirp('/data/c1');
  owner.adapters.fs.writeAtomic('/data/c1/data', data);
  owner.adapters.fs.writeAtomic('/data/c1/index', index);
  const torrent = buildTorrentFile('c1', P, [
    { path: 'data', bytes: data },
    { path: 'index', bytes: index },
  ]);
  const magnet = magnetFor(parseTorrentFile(torrent).infoHash, 'c1');
  for (const n of nodes) await n.adapters.torrent.start();
  await owner.adapters.torrent.seed(torrent, '/data');
  world.swarm.corruptNextPiece('n1');
  let downloaded = 0;
  for (const n of nodes.slice(1)) {
    const dl = n.adapters.torrent.add(magnet, '/data');
    dl.downloadFile('data').then(
      () => {
        downloaded++;
        world.trace.record('demo.downloaded', { node: n.id });
      },
      (e: unknown) => world.trace.record('demo.failed', { node: n.id, error: String(e) }),
    );
  }

  // faults along the way
  world.kernel.schedule(start + 1_000, 'demo.offline', () => nodes[3]!.goOffline());
  world.kernel.schedule(start + 4_000, 'demo.online', () => nodes[3]!.goOnline());
  world.kernel.schedule(start + 1_500, 'demo.partition', () =>
    world.network.partition([
      ['n0', 'n1', 'n2'],
      ['n4', 'n5'],
    ]),
  );
  world.kernel.schedule(start + 6_000, 'demo.heal', () => world.network.heal());
  world.kernel.schedule(start + 2_000, 'demo.crash', () => nodes[6]!.crash());
  world.kernel.schedule(start + 25_000, 'demo.restart', () => nodes[6]!.restart());

  await world.runUntilAsync(start + 90_000);
  const queries = nodes.slice(7, 9).map((n) =>
    n.adapters.messaging.queryStore({ pubsubTopic: PUBSUB, contentTopics: [TOPIC], from: 0, to: 4e9 }).then(
      (r) => r.length,
      () => -1,
    ),
  );
  await world.runUntilAsync(start + 100_000);
  const got = await Promise.all(queries);
  world.trace.record('demo.end', { store: got, events: world.kernel.processed });
  return {
    hash: world.trace.hash(),
    lines: world.trace.count,
    events: world.kernel.processed,
    downloaded,
    storeAnswers: got,
  };
}

if (import.meta.main) {
  const seed = Number(process.argv[2] ?? '1');
  const r = await runDemo(seed);
  process.stdout.write(`${JSON.stringify({ seed, ...r })}\n`);
}
