// adapters/sim/faulty-adapters.ts: port calls fail or hang on command, deterministically,
// and every other call reaches the wrapped port unchanged.

import { describe, expect, test } from 'vitest';
import { InjectedFault, PORT_CALLS, type PortCall, withFaults } from '../adapters/sim/faulty-adapters.ts';
import { SimWorld } from '../adapters/sim/world.ts';

function node() {
  const world = new SimWorld({ seed: 3, startTime: 1_000_000 });
  const sim = world.addNode({ id: 'n' });
  return { world, sim, faults: withFaults(sim.adapters) };
}

/** Settle a promise by running the world; 'pending' when it did not settle. */
async function outcome(world: SimWorld, p: Promise<unknown>): Promise<unknown> {
  let out: unknown = 'pending';
  p.then(
    (v) => {
      out = { ok: v };
    },
    (e) => {
      out = { error: e };
    },
  );
  await world.runForAsync(1000);
  return out;
}

describe('faulty adapters', () => {
  test('without a rule every call reaches the port', async () => {
    const { world, faults } = node();
    const a = faults.adapters;
    await outcome(world, a.torrent.start());
    expect(a.torrent.running).toBe(true);
    a.fs.writeAtomic('/data/x', new Uint8Array([1, 2]));
    expect(a.fs.read('/data/x')).toEqual(new Uint8Array([1, 2]));
    expect(a.keys.communityPrivateKey('c')).toBeUndefined();
    expect(faults.injected).toEqual([]);
  });

  test('a fail rule on an async call rejects with InjectedFault, as many times as armed', async () => {
    const { world, faults } = node();
    faults.arm({ call: 'torrent.start', times: 2 });
    for (let i = 0; i < 2; i++) {
      const r = (await outcome(world, faults.adapters.torrent.start())) as { error: unknown };
      expect(r.error).toBeInstanceOf(InjectedFault);
      expect((r.error as InjectedFault).call).toBe('torrent.start');
    }
    expect(faults.adapters.torrent.running).toBe(false);
    expect(await outcome(world, faults.adapters.torrent.start())).toEqual({ ok: undefined });
    expect(faults.adapters.torrent.running).toBe(true);
    expect(faults.hits('torrent.start')).toBe(2);
    expect(faults.injected.map((x) => x.at)).toEqual([1_000_000, 1_001_000]);
  });

  test('a fail rule on a sync call throws; match narrows it to some arguments', () => {
    const { faults } = node();
    faults.arm({ call: 'fs.read', match: (args) => args[0] === '/data/a' });
    faults.adapters.fs.writeAtomic('/data/a', new Uint8Array([1]));
    faults.adapters.fs.writeAtomic('/data/b', new Uint8Array([2]));
    expect(faults.adapters.fs.read('/data/b')).toEqual(new Uint8Array([2]));
    expect(() => faults.adapters.fs.read('/data/a')).toThrow(InjectedFault);
    expect(() => faults.adapters.fs.read('/data/a')).toThrow('injected fault: fs.read');
    faults.disarm('fs.read');
    expect(faults.adapters.fs.read('/data/a')).toEqual(new Uint8Array([1]));
  });

  test('a hang rule never settles, except through its AbortSignal', async () => {
    const { world, faults } = node();
    await outcome(world, faults.adapters.torrent.start());
    faults.arm({ call: 'torrent.stop', mode: 'hang', times: 1 });
    expect(await outcome(world, faults.adapters.torrent.stop())).toBe('pending');
    expect(faults.adapters.torrent.running).toBe(true);
    expect(await outcome(world, faults.adapters.torrent.stop())).toEqual({ ok: undefined });
    expect(faults.adapters.torrent.running).toBe(false);

    await outcome(world, faults.adapters.torrent.start());
    faults.arm({ call: 'download.metadata', mode: 'hang' });
    const d = faults.adapters.torrent.add(`magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=x`, '/data');
    const ac = new AbortController();
    const p = d.metadata(ac.signal);
    expect(await outcome(world, p)).toBe('pending');
    ac.abort();
    const r = (await outcome(world, p)) as { error: unknown };
    expect((r.error as Error).name).toBe('AbortError');
    expect(faults.hits('download.metadata')).toBe(1);
  });

  test('bad rules are refused with the reason', () => {
    const { faults } = node();
    expect(() => faults.arm({ call: 'torrent.fly' as PortCall })).toThrow(/unknown port call "torrent.fly"/);
    expect(() => faults.arm({ call: 'fs.read', mode: 'hang' })).toThrow(/cannot hang/);
    expect(() => faults.arm({ call: 'fs.read', times: 0 })).toThrow(/positive integer/);
    expect(() => faults.arm({ call: 'fs.read', mode: 'explode' as 'fail' })).toThrow(/mode/);
  });

  test('every method of every port can be targeted', () => {
    expect(PORT_CALLS).toContain('torrent.seed');
    expect(PORT_CALLS).toContain('download.downloadPieces');
    expect(PORT_CALLS).toContain('storage.markArchiveImported');
    expect(PORT_CALLS).toContain('messaging.queryStore');
    expect(PORT_CALLS).toContain('messaging.whenStoreAvailable');
    expect(PORT_CALLS).toContain('keys.communityPrivateKey');
    expect(PORT_CALLS).toContain('keys.nodeIdentity');
    expect(PORT_CALLS.length).toBe(7 + 4 + 12 + 9 + 4 + 2);
  });
});
