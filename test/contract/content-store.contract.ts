// Contract of the ContentStore port, for any implementation (the simulated content network,
// Helia). The fixture gives three or more stores that can reach each other (handed over
// stopped; the suite starts and stops them) and lets time pass with `settle(ms)`.

import { describe, expect, it } from 'vitest';
import {
  ContentNotHeld,
  type ContentStore,
  ContentStoreStopped,
  type FetchProgress,
  InvalidContentId,
} from '../../ports/content-store.ts';
import { contractBytes } from './torrent.contract.ts';

export interface ContentFixture {
  /** At least three stores. */
  stores: ContentStore[];
  settle(ms: number): Promise<void>;
  /** Called once the suite started every store (the real one connects them there). */
  afterStart?(): Promise<void>;
  teardown?(): Promise<void> | void;
}

/** Resolves or rejects with `p`, letting fixture time pass; fails when still pending after maxMs. */
export async function settleUntil<T>(fx: ContentFixture, p: Promise<T>, maxMs = 60_000): Promise<T> {
  let state: 'pending' | 'ok' | 'err' = 'pending';
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      state = 'ok';
      value = v;
    },
    (e) => {
      state = 'err';
      error = e;
    },
  );
  for (let waited = 0; state === 'pending' && waited < maxMs; waited += 100) await fx.settle(100);
  if (state === 'pending') throw new Error(`still pending after ${maxMs} ms`);
  if (state === 'err') throw error;
  return value as T;
}

/** Whether `p` is still pending after `ms` of fixture time. */
async function pendingAfter(fx: ContentFixture, p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await fx.settle(ms);
  return !done;
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

export function describeContentStoreContract(name: string, factory: () => Promise<ContentFixture>): void {
  describe(`ContentStore contract: ${name}`, () => {
    async function withStores(
      fn: (fx: ContentFixture, a: ContentStore, b: ContentStore, c: ContentStore) => Promise<void>,
    ) {
      const fx = await factory();
      expect(fx.stores.length).toBeGreaterThanOrEqual(3);
      const [a, b, c] = fx.stores as [ContentStore, ContentStore, ContentStore];
      try {
        for (const s of fx.stores) await s.start();
        await fx.afterStart?.();
        await fn(fx, a, b, c);
      } finally {
        for (const s of fx.stores) if (s.running) await s.stop();
        await fx.teardown?.();
      }
    }

    it('starts and stops; calls on a stopped store reject with ContentStoreStopped', async () => {
      const fx = await factory();
      try {
        const s = fx.stores[0]!;
        expect(s.running).toBe(false);
        await expect(s.upload(new Uint8Array(1))).rejects.toBeInstanceOf(ContentStoreStopped);
        await s.start();
        expect(s.running).toBe(true);
        await s.stop();
        expect(s.running).toBe(false);
        await expect(
          s.fetch('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'),
        ).rejects.toBeInstanceOf(ContentStoreStopped);
      } finally {
        await fx.teardown?.();
      }
    });

    it('an upload is held and read back locally; the same bytes get the same id, others another', () =>
      withStores(async (_fx, a) => {
        const bytes = contractBytes('one', 3000);
        const cid = await a.upload(bytes);
        expect(typeof cid).toBe('string');
        expect(await a.has(cid)).toBe(true);
        expect(eq(await a.readLocal(cid), bytes)).toBe(true);
        expect(await a.upload(contractBytes('one', 3000))).toBe(cid);
        const other = await a.upload(contractBytes('two', 3000));
        expect(other).not.toBe(cid);
        expect(await a.held()).toEqual([cid, other].sort());
        const none = await a.upload(new Uint8Array(0));
        expect((await a.readLocal(none)).length).toBe(0);
      }));

    it('another store fetches by id (several blocks), verified, keeps it, and can serve it', () =>
      withStores(async (fx, a, b, c) => {
        const bytes = contractBytes('big', 600_000);
        const cid = await a.upload(bytes);
        const seen: FetchProgress[] = [];
        const got = await settleUntil(fx, b.fetch(cid, { onProgress: (p) => seen.push(p) }));
        expect(eq(got, bytes)).toBe(true);
        expect(await b.has(cid)).toBe(true);
        expect(eq(await b.readLocal(cid), bytes)).toBe(true);
        expect(b.stats().bytesDown).toBeGreaterThanOrEqual(bytes.length);
        expect(a.stats().bytesUp).toBeGreaterThanOrEqual(bytes.length);
        expect(seen.at(-1)).toMatchObject({ cid, bytes: bytes.length });
        // the uploader leaves: the fetcher now serves the content
        await a.stop();
        const again = await settleUntil(fx, c.fetch(cid));
        expect(eq(again, bytes)).toBe(true);
      }));

    it('several fetches at once, of several ids', () =>
      withStores(async (fx, a, b) => {
        const blobs = [1, 2, 3].map((i) => contractBytes(`many/${i}`, 50_000 * i));
        const cids = await Promise.all(blobs.map((x) => a.upload(x)));
        const got = await settleUntil(fx, Promise.all(cids.map((cid) => b.fetch(cid))));
        for (const [i, g] of got.entries()) expect(eq(g, blobs[i]!)).toBe(true);
        expect(await b.held()).toEqual([...cids].sort());
      }));

    it('keep fetches what is missing and serves it; keep of held content resolves at once', () =>
      withStores(async (fx, a, b, c) => {
        const bytes = contractBytes('keep', 200_000);
        const cid = await a.upload(bytes);
        await settleUntil(fx, b.keep(cid));
        expect(await b.has(cid)).toBe(true);
        await settleUntil(fx, b.keep(cid), 1000);
        await a.drop(cid);
        expect(await a.has(cid)).toBe(false);
        expect(eq(await settleUntil(fx, c.fetch(cid)), bytes)).toBe(true);
      }));

    it('drop deletes and stops serving: with no holder left a fetch waits until aborted', () =>
      withStores(async (fx, a, b) => {
        const bytes = contractBytes('drop', 40_000);
        const cid = await a.upload(bytes);
        await a.drop(cid);
        expect(await a.has(cid)).toBe(false);
        expect(await a.held()).toEqual([]);
        await expect(a.readLocal(cid)).rejects.toBeInstanceOf(ContentNotHeld);
        await a.drop(cid); // no-op
        const abort = new AbortController();
        const fetching = b.fetch(cid, { signal: abort.signal });
        expect(await pendingAfter(fx, fetching, 3000)).toBe(true);
        const reason = new Error('enough');
        abort.abort(reason);
        await expect(settleUntil(fx, fetching, 5000)).rejects.toBe(reason);
        expect(await b.has(cid)).toBe(false);
      }));

    it('an already aborted signal rejects at once; a fetch under way rejects when the store stops', () =>
      withStores(async (fx, a, b) => {
        const cid = await a.upload(contractBytes('abort', 1000));
        await a.drop(cid);
        const reason = new Error('before');
        await expect(b.fetch(cid, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        const fetching = b.fetch(cid);
        expect(await pendingAfter(fx, fetching, 1000)).toBe(true);
        await b.stop();
        await expect(settleUntil(fx, fetching, 5000)).rejects.toBeInstanceOf(ContentStoreStopped);
      }));

    it('held content survives a stop and a start', () =>
      withStores(async (fx, a, b) => {
        const bytes = contractBytes('persist', 120_000);
        const cid = await a.upload(bytes);
        await settleUntil(fx, b.fetch(cid));
        await b.stop();
        await b.start();
        expect(await b.has(cid)).toBe(true);
        expect(eq(await b.readLocal(cid), bytes)).toBe(true);
      }));

    it('strings that are not content ids are refused by name', () =>
      withStores(async (_fx, a) => {
        await expect(a.fetch('not a cid')).rejects.toBeInstanceOf(InvalidContentId);
        await expect(a.readLocal('')).rejects.toBeInstanceOf(InvalidContentId);
        await expect(a.has('magnet:?xt=urn:btih:00')).rejects.toBeInstanceOf(InvalidContentId);
        await expect(a.keep('zz')).rejects.toBeInstanceOf(InvalidContentId);
      }));
  });
}
