// The ContentStore contract against Helia: three stores on 127.0.0.1, connected to each
// other directly (no discovery), blocks and pins on disk in temporary folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeliaContentStore } from '../adapters/real/helia-content-store.ts';
import { describeContentStoreContract } from './contract/content-store.contract.ts';

describeContentStoreContract('HeliaContentStore', async () => {
  const root = mkdtempSync(join(tmpdir(), 'archivist-helia-'));
  const stores = ['a', 'b', 'c'].map((id) => new HeliaContentStore({ dir: join(root, id) }));
  return {
    stores,
    settle: (ms) => sleep(Math.min(ms, 50)),
    afterStart: async () => {
      for (const s of stores)
        for (const other of stores) if (other !== s) await s.addPeer(other.multiaddrs()[0]!);
    },
    teardown: () => rmSync(root, { recursive: true, force: true }),
  };
});
