import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Kernel } from '../sim/kernel.ts';
import { Prng } from '../sim/prng.ts';
import { Trace, traceLine } from '../sim/trace.ts';

describe('Kernel', () => {
  it('fires events by (time, sequence), whatever the insertion order', () => {
    const k = new Kernel(1000);
    const rng = Prng.stream(1, 'kernel-test');
    const fired: [number, number][] = [];
    const expected: [number, number][] = [];
    for (let i = 0; i < 2000; i++) {
      const at = 1000 + rng.int(0, 300);
      expected.push([at, i]);
      k.schedule(at, 'e', (arg: number) => fired.push([k.now(), arg]), i);
    }
    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(k.pending).toBe(2000);
    expect(k.run()).toBe(2000);
    expect(fired).toEqual(expected);
    expect(k.processed).toBe(2000);
  });

  it('keeps (time, sequence) order under random schedule/cancel/reschedule, near and far', () => {
    const rng = Prng.stream(3, 'kernel-random');
    const k = new Kernel(1_000_000);
    // reference model: live events with their (at, seq) as the kernel assigns them
    let seq = 0;
    const live = new Map<number, { at: number; seq: number; ev: ReturnType<Kernel['schedule']> }>();
    const fired: number[] = [];
    let nextId = 0;
    const add = (delay: number) => {
      const id = nextId++;
      const at = k.now() + delay;
      const ev = k.schedule(
        at,
        'r',
        (x: number) => {
          fired.push(x);
          live.delete(x);
          if (rng.chance(0.3)) add(rng.pick([0, 1, 7, 500, 20_000, 90_000]));
        },
        id,
      );
      live.set(id, { at, seq: seq++, ev });
    };
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 50; i++)
        add(rng.pick([0, 1, 3, 40, 999, 16_383, 16_384, 40_000, 3_000_000]) + rng.int(0, 5));
      for (const [id, e] of [...live]) {
        const r = rng.next();
        if (r < 0.05) {
          expect(k.cancel(e.ev)).toBe(true);
          live.delete(id);
        } else if (r < 0.1) {
          const at = k.now() + rng.pick([0, 2, 100, 30_000, 500_000]);
          k.reschedule(e.ev, at);
          live.set(id, { at, seq: seq++, ev: e.ev });
        }
      }
      const until = k.now() + rng.int(0, 60_000);
      const expected = [...live]
        .filter(([, e]) => e.at <= until)
        .sort((a, b) => a[1].at - b[1].at || a[1].seq - b[1].seq);
      fired.length = 0;
      k.run({ until });
      // handlers may add events due before `until`: they fire too, after the expected prefix order allows
      const firstOnes = fired.slice(0, expected.length);
      expect(new Set(firstOnes).size).toBe(firstOnes.length);
      const expectedIds = expected.map(([id]) => id);
      expect(fired.filter((x) => expectedIds.includes(x))).toEqual(expectedIds);
      expect(k.pending).toBe(live.size);
    }
    k.run();
    expect(k.pending).toBe(0);
    expect(live.size).toBe(0);
  });

  it('stays right when the near part empties by cancellation and time jumps far ahead', () => {
    const k = new Kernel(0);
    const seen: string[] = [];
    const near = k.schedule(100, 'near', () => seen.push('near'));
    k.schedule(10_000_000, 'far', () => {
      seen.push(`far@${k.now()}`);
      k.after(5, 'after-far', () => seen.push(`after-far@${k.now()}`));
      k.after(100, 'after-far-2', () => seen.push(`after-far-2@${k.now()}`));
    });
    k.cancel(near);
    k.run({ until: 50 });
    k.schedule(60 + 16_384 * 3, 'wrapped', () => seen.push(`wrapped@${k.now()}`));
    k.run();
    expect(seen).toEqual(['wrapped@49212', 'far@10000000', 'after-far@10000005', 'after-far-2@10000100']);
    expect(k.pending).toBe(0);
  });

  it('cancels and reschedules without leaving garbage', () => {
    const k = new Kernel(0);
    const seen: string[] = [];
    const a = k.schedule(10, 'a', () => seen.push('a'));
    const b = k.schedule(20, 'b', () => seen.push('b'));
    k.schedule(20, 'c', () => seen.push('c'));
    expect(k.cancel(a)).toBe(true);
    expect(k.cancel(a)).toBe(false);
    k.reschedule(b, 20); // same time, fresh sequence: now after c
    expect(k.pending).toBe(2);
    k.run();
    expect(seen).toEqual(['c', 'b']);
    expect(b.queued).toBe(false);
  });

  it('clamps past times to now, rounds fractional times up, and runs until a time', () => {
    const k = new Kernel(100);
    const times: number[] = [];
    k.schedule(50, 'past', () => times.push(k.now()));
    k.schedule(120.2, 'frac', () => times.push(k.now()));
    k.schedule(500, 'late', () => times.push(k.now()));
    k.run({ until: 200 });
    expect(times).toEqual([100, 121]);
    expect(k.now()).toBe(200);
    expect(k.nextTime()).toBe(500);
    expect(k.run({ maxEvents: 1 })).toBe(1);
    expect(k.now()).toBe(500);
  });

  it('events scheduled while running at the current time run in the same pass', () => {
    const k = new Kernel(0);
    const seen: number[] = [];
    k.schedule(5, 'outer', () => {
      seen.push(1);
      k.after(0, 'inner', () => seen.push(2));
    });
    k.run({ until: 5 });
    expect(seen).toEqual([1, 2]);
  });

  it('runAsync lets promise continuations run at the virtual time of their cause', async () => {
    const k = new Kernel(0);
    const log: string[] = [];
    const sleep = (ms: number) =>
      new Promise<void>((resolve) =>
        k.after(ms, 'sleep', () => {
          k.noteAsyncWork();
          resolve();
        }),
      );
    const task = (async () => {
      await sleep(100);
      log.push(`a@${k.now()}`);
      await sleep(50);
      log.push(`b@${k.now()}`);
    })();
    k.schedule(120, 'other', () => log.push(`x@${k.now()}`));
    await k.runAsync({ until: 1000 });
    await task;
    expect(log).toEqual(['a@100', 'x@120', 'b@150']);
    expect(k.now()).toBe(1000);
  });
});

describe('Prng', () => {
  it('gives the same numbers for the same (seed, stream) and independent streams', () => {
    const a = Prng.stream(42, 'net:n1');
    const b = Prng.stream(42, 'net:n1');
    const seqA = Array.from({ length: 50 }, () => a.nextUint32());
    // draining another stream in between changes nothing
    const other = Prng.stream(42, 'net:n2');
    for (let i = 0; i < 1000; i++) other.next();
    expect(Array.from({ length: 50 }, () => b.nextUint32())).toEqual(seqA);
    const c = Prng.stream(42, 'net:n2');
    expect(Array.from({ length: 50 }, () => c.nextUint32())).not.toEqual(seqA);
    const d = Prng.stream(43, 'net:n1');
    expect(Array.from({ length: 50 }, () => d.nextUint32())).not.toEqual(seqA);
  });

  it('draws in range: next in [0,1), int inclusive, pick, bytes, roughly uniform', () => {
    const r = Prng.stream(7, 'range');
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      const v = r.int(1, 6);
      counts[v - 1]++;
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(600);
    expect(['a', 'b', 'c']).toContain(r.pick(['a', 'b', 'c']));
    expect(r.bytes(7).length).toBe(7);
    expect(() => r.int(3, 2)).toThrow(RangeError);
    expect(() => r.pick([])).toThrow(RangeError);
  });
});

describe('Trace', () => {
  it('writes stable lines (t, kind, then sorted fields; bytes as hex) and hashes them', () => {
    let now = 1000.4;
    const tr = new Trace(() => now);
    tr.record('b.kind', {
      z: 1,
      a: 'x',
      bytes: new Uint8Array([0, 255]),
      nested: { y: 2, x: [1, 2] },
      skip: undefined,
    });
    now = 2000;
    tr.record('a.kind', {});
    const lines = tr.lines();
    expect(lines).toEqual([
      '{"t":1000,"kind":"b.kind","a":"x","bytes":"00ff","nested":{"x":[1,2],"y":2},"z":1}',
      '{"t":2000,"kind":"a.kind"}',
    ]);
    const h = createHash('sha256');
    for (const l of lines) h.update(`${l}\n`);
    expect(tr.hash()).toBe(h.digest('hex'));
    expect(traceLine(5, 'k', { b: 2, a: 1 })).toBe('{"t":5,"kind":"k","a":1,"b":2}');
  });

  it('keeps only the hash when asked, and tells listeners', () => {
    const tr = new Trace(() => 0, { keepLines: false });
    const kinds: string[] = [];
    const off = tr.onRecord((r) => kinds.push(r.kind));
    tr.record('one', { n: 1 });
    off();
    tr.record('two', { n: 2 });
    expect(tr.lines()).toEqual([]);
    expect(tr.count).toBe(2);
    expect(kinds).toEqual(['one']);
    const full = new Trace(() => 0);
    full.record('one', { n: 1 });
    full.record('two', { n: 2 });
    expect(tr.hash()).toBe(full.hash());
  });

  it('only counts records when neither lines nor hash are wanted, unless someone listens', () => {
    const tr = new Trace(() => 0, { keepLines: false, hash: false });
    tr.record('one', { n: 1 });
    const lines: string[] = [];
    const off = tr.onRecord((r) => lines.push(r.line));
    tr.record('two', { n: 2 });
    off();
    tr.record('three', { n: 3 });
    expect(tr.count).toBe(3);
    expect(tr.hash()).toBe('');
    expect(lines).toEqual(['{"t":0,"kind":"two","n":2}']);
  });
});
