import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { MemoryStorage, SimulatedCrash, storageDigest } from '../adapters/sim/memory-storage.ts';
import { SimWorld } from '../adapters/sim/world.ts';

const T0 = Date.UTC(2026, 0, 1);
const T1 = new Uint8Array([1, 2, 3, 4]);

function message(ts: number, h: number) {
  const hash = new Uint8Array(32);
  hash[0] = h;
  return {
    sig: new Uint8Array(1),
    timestamp: ts,
    topic: T1,
    payload: new Uint8Array(3),
    padding: new Uint8Array(0),
    hash,
    thirdPartyId: '',
  };
}

describe('SimWorld', () => {
  it('builds nodes with every port, in their own file systems', () => {
    const w = new SimWorld({ seed: 1, startTime: T0 });
    const a = w.addNode({ id: 'a' });
    const b = w.addNode({ id: 'b', online: false });
    expect(w.nodes().map((n) => n.id)).toEqual(['a', 'b']);
    expect(w.node('b')).toBe(b);
    expect(() => w.node('zz')).toThrow();
    expect(() => w.addNode({ id: 'a' })).toThrow();
    expect(a.online).toBe(true);
    expect(b.online).toBe(false);
    expect(a.adapters.dataDir).toBe('/data');
    expect(a.adapters.torrentDir).toBe('/torrents');
    expect(a.adapters.clock.now()).toBe(T0);
    a.adapters.fs.mkdirp('/data/c');
    a.adapters.fs.writeAtomic('/data/c/x', new Uint8Array([1]));
    expect(b.adapters.fs.exists('/data/c/x')).toBe(false);
    expect(a.bytes()).toEqual({ down: 0, up: 0 });
  });

  it('named random streams do not shift when nodes are added', () => {
    const draw = (nodes: number) => {
      const w = new SimWorld({ seed: 5, startTime: T0 });
      for (let i = 0; i < nodes; i++) w.addNode({ id: `n${i}` });
      return Array.from({ length: 10 }, () => w.rng('scenario').nextUint32());
    };
    expect(draw(0)).toEqual(draw(20));
    const w = new SimWorld({ seed: 5, startTime: T0 });
    expect(w.rng('x')).toBe(w.rng('x'));
  });

  it('runs XState delayed transitions on a node clock; a crash stops them', () => {
    const w = new SimWorld({ seed: 1, startTime: T0 });
    const a = w.addNode({ id: 'a' });
    const machine = createMachine({
      initial: 'idle',
      states: { idle: { after: { 60000: 'ticked' } }, ticked: {} },
    });
    const actor = createActor(machine, { clock: a.adapters.clock }).start();
    w.runUntil(T0 + 59_999);
    expect(actor.getSnapshot().value).toBe('idle');
    w.runUntil(T0 + 60_000);
    expect(actor.getSnapshot().value).toBe('ticked');
    const b = w.addNode({ id: 'b' });
    const other = createActor(machine, { clock: b.adapters.clock }).start();
    b.crash();
    w.runUntil(T0 + 200_000);
    expect(other.getSnapshot().value).toBe('idle');
  });

  it('storage keeps what methods returned across a crash; a crash during a method leaves nothing', () => {
    const w = new SimWorld({ seed: 1, startTime: T0 });
    const a = w.addNode({ id: 'a' });
    const s = a.sim.storage;
    s.saveMessages([message(10, 1), message(20, 2)]);
    s.updateArchiveState('c', { magnetlinkClock: 5 });
    const before = storageDigest(s, ['c'], [T1]);
    s.crashDuringNextWrite();
    expect(() => s.saveMessages([message(30, 3), message(40, 4)])).toThrow(SimulatedCrash);
    s.crashDuringNextWrite();
    expect(() => s.updateArchiveState('c', { magnetlinkClock: 6, lastArchiveEndDate: 1 })).toThrow(
      SimulatedCrash,
    );
    s.crashDuringNextWrite();
    expect(() => s.deleteMessagesInRange([T1], 0, 100)).toThrow(SimulatedCrash);
    a.crash();
    a.restart();
    expect(storageDigest(a.sim.storage, ['c'], [T1])).toBe(before);
    expect(a.adapters.storage.countMessages()).toBe(2);
    expect(s.crashes).toBe(1);
    const fresh = new MemoryStorage();
    expect(storageDigest(fresh, ['c'], [T1])).not.toBe(before);
  });

  it('code of a crashed incarnation cannot subscribe or start the torrent client of the restarted node', async () => {
    const w = new SimWorld({ seed: 1, startTime: T0 });
    const a = w.addNode({ id: 'a' });
    const b = w.addNode({ id: 'b' });
    b.crash();
    let got = 0;
    b.adapters.messaging.subscribe('/p', ['/c'], () => got++);
    await expect(b.adapters.torrent.start()).rejects.toThrow('crashed');
    b.restart();
    expect(b.adapters.torrent.running).toBe(false);
    const msg = { pubsubTopic: '/p', contentTopic: '/c', message: message(1, 9) };
    await a.adapters.messaging.publish(msg);
    await w.runForAsync(1000);
    expect(got).toBe(0);
    await b.adapters.torrent.start();
    expect(b.adapters.torrent.running).toBe(true);
  });

  it('keys survive a crash', () => {
    const w = new SimWorld({ seed: 1, startTime: T0 });
    const a = w.addNode({ id: 'a' });
    const key = new Uint8Array(32).fill(7);
    a.sim.keys.set('c', key);
    a.crash();
    a.restart();
    expect(a.adapters.keys.communityPrivateKey('c')).toEqual(key);
    expect(a.adapters.keys.communityPrivateKey('other')).toBeUndefined();
    expect(() => a.sim.keys.set('bad', new Uint8Array(3))).toThrow(RangeError);
  });
});
