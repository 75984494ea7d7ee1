// Load on the real relay (libp2p gossipsub as Waku relay), on 127.0.0.1:
//   1. twenty member nodes started and stopped in turn against one node still each join
//      its relay mesh and receive what it publishes;
//   2. a member node (`archivist node`, a separate process), after fifteen other nodes of
//      this machine came and went, flooded with 10,000 forged magnetlinks by a peer in a
//      process of its own while both cores are busy (stress-ng), handles every one and the
//      valid link that peer sends after them;
//   3. a connection whose peer cannot answer a ping for 16 s is not aborted.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Libp2pMessaging } from '../adapters/real/libp2p-messaging.ts';
import { magnetLink } from '../archive/index.ts';
import type { RelayMessage } from '../ports/messaging.ts';
import { relayMessageOf } from '../proto/magnetlink-channel.ts';
import { communityIdOf, encodeMagnetlinkMessage, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';
import { NodeProcess } from './fixtures/archivist-process.ts';

const root = mkdtempSync(join(tmpdir(), 'archivist-soak-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const key = generateCommunityKey(new Uint8Array(createHash('sha256').update('soak community').digest()));
const X = communityIdOf(key);
const PUBSUB = `/waku/2/${X}`;
const channel = chatTopic(magnetlinkChannelId(X));

function link(signer: Uint8Array, clock: number, magnetUri: string): RelayMessage {
  return {
    pubsubTopic: PUBSUB,
    contentTopic: contentTopicOf(channel),
    message: relayMessageOf(
      channel,
      encodeMagnetlinkMessage(signer, clock, magnetUri),
      Math.floor(clock / 1000),
    ),
  };
}

async function until(done: () => boolean, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** test/fixtures/flooder.ts as a child process: its JSON lines, orders on stdin, a stop. */
function startFlooder() {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'flooder.ts'), X], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p));
  });
  let seen = 0;
  return {
    send: (order: { key: string; forged: number; valid: string }) =>
      child.stdin.write(`${JSON.stringify(order)}\n`),
    /** The next line (after those already returned) that `pred` accepts. */
    next: async (
      pred: (l: Record<string, unknown>) => boolean,
      ms = 20_000,
    ): Promise<Record<string, unknown>> => {
      let found: Record<string, unknown> | undefined;
      await until(
        () => {
          const i = lines.findIndex((l, k) => k >= seen && pred(l));
          if (i >= 0) {
            seen = i + 1;
            found = lines[i];
          }
          return found !== undefined;
        },
        'a line from the flooder',
        ms,
      );
      return found!;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe('the relay under load', () => {
  it('twenty nodes started and stopped in turn each join the mesh of the node they dial', async () => {
    const hub = new Libp2pMessaging();
    await hub.start();
    hub.subscribe(PUBSUB, [], () => {});
    const joined: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const member = new Libp2pMessaging({ peers: hub.multiaddrs() });
        await member.start();
        try {
          const got: RelayMessage[] = [];
          member.subscribe(PUBSUB, [], (m) => got.push(m));
          await until(
            () => hub.relayPeerCount(PUBSUB) >= 1 && member.relayPeerCount(PUBSUB) >= 1,
            `node ${i + 1} in the hub's mesh (${joined.length} joined before it)`,
            8000,
          );
          await hub.publish(link(key, 1_000_000 + i, `magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=n${i}`));
          await until(() => got.length === 1, `node ${i + 1} receiving the hub's message`, 5000);
          joined.push(i);
        } finally {
          await member.stop();
        }
        // Each member is gone from the hub before the next one comes.
        await until(() => hub.relayPeerCount(PUBSUB) === 0, `node ${i + 1} leaving the hub's mesh`, 5000);
      }
    } finally {
      await hub.stop();
    }
    expect(joined).toHaveLength(20);
  }, 120_000);

  it('a member flooded with 10,000 forged links while both cores are busy still handles the valid one after them', async () => {
    const flooder = startFlooder();
    const peer = await flooder.next((l) => 'multiaddrs' in l);
    const dir = join(root, 'flooded');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        nodeId: 'flooded',
        dataDir: 'data',
        torrentDir: 'torrents',
        database: 'node.db',
        messaging: { peers: peer.multiaddrs },
        communities: [{ id: X, chats: ['general'] }],
        options: { magnetlinkHistoryOnStart: false },
      }),
    );
    const member = new NodeProcess(join(dir, 'config.json'));
    // Both cores busy for the whole flood (Debian's stress-ng, installed by .ci/run).
    const stress = spawn('stress-ng', ['--cpu', '2', '--timeout', '120s', '--quiet'], { stdio: 'ignore' });
    const stressExited = new Promise<number | null>((r) => stress.once('exit', r));
    const FORGED = 10_000;
    const valid = magnetLink('cd'.repeat(20), X);
    try {
      const listening = await member.waitFor(
        (l) => l.type === 'node.listening',
        'the member listening',
        30_000,
      );
      await member.waitFor((l) => l.type === 'node.started', 'the member started', 30_000);
      // Fifteen other nodes of this machine relay with the member and go, as members started
      // and stopped in turn do: the flooding peer shares their IP.
      for (let i = 0; i < 15; i++) {
        const other = new Libp2pMessaging({ peers: listening.multiaddrs as string[] });
        await other.start();
        other.subscribe(PUBSUB, [], () => {});
        await new Promise((r) => setTimeout(r, 300));
        await other.stop();
      }
      expect(stress.exitCode, 'stress-ng is running (apt-get install stress-ng)').toBeNull();
      const started = Date.now();
      flooder.send({ key: Buffer.from(key).toString('hex'), forged: FORGED, valid });
      const published = await flooder.next((l) => 'published' in l, 60_000);
      expect(published, JSON.stringify(published)).toMatchObject({ published: FORGED + 1 });
      const accepted = await member.waitFor(
        (l) => l.type === 'archive.magnetlinkReceived' && l.magnetUri === valid,
        'the valid link handled',
        60_000,
      );
      const handledMs = Date.now() - started;
      const forged = member.lines.filter(
        (l) => l.type === 'archive.magnetlinkReceived' && l.signer !== X,
      ).length;
      console.log(
        `soak: ${FORGED} forged links and a valid one published in ${published.ms} ms with both cores busy; the member handled ${forged} forged ones and the valid one ${handledMs} ms after the flood began`,
      );
      expect(accepted).toMatchObject({ accepted: true, signer: X });
      expect(forged).toBe(FORGED);
    } finally {
      stress.kill('SIGKILL');
      await stressExited;
      expect(await member.stop()).toBe(0);
      await flooder.stop();
    }
  }, 180_000);

  it('a connection whose peer is too busy to answer pings for 16 s is kept (no ping abort)', async () => {
    // What the flood did, made certain: the peer's connection monitor pings every 10 s and,
    // with no pong in 5 s, used to abort the connection. This thread's event loop is blocked
    // for 16 s (Atomics.wait), so one of the flooder's pings goes unanswered that long.
    const flooder = startFlooder();
    const peer = await flooder.next((l) => 'multiaddrs' in l);
    const node = new Libp2pMessaging({ peers: peer.multiaddrs as string[] });
    await node.start();
    const got: RelayMessage[] = [];
    node.subscribe(PUBSUB, [], (m) => got.push(m));
    try {
      await until(() => node.relayPeerCount(PUBSUB) >= 1, 'the flooder in the mesh', 8000);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 16_000);
      const valid = magnetLink('ef'.repeat(20), X);
      flooder.send({ key: Buffer.from(key).toString('hex'), forged: 0, valid });
      const published = await flooder.next((l) => 'published' in l, 20_000);
      expect(published).toMatchObject({ published: 1, relayPeers: 1 });
      await until(() => got.length === 1, 'the link after the busy spell', 5000);
    } finally {
      await node.stop();
      await flooder.stop();
    }
  }, 60_000);
});
