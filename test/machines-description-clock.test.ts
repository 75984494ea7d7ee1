// Dispatch also sets the community description's archive_magnetlink_clock (field 9), as the
// reference's dispatch does once the link is sent (docs/reference-wire.md §6): on a node
// whose host keeps descriptions, the field follows every dispatched clock and the rest of the
// description is untouched; the real node's sqlite storage keeps them across reopening.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SqliteStorage } from '../adapters/real/sqlite-storage.ts';
import { MemoryCommunityDescriptions } from '../adapters/sim/memory-descriptions.ts';
import { DAY } from '../machines/options.ts';
import { archiveMagnetlinkClockOf } from '../proto/community-description.ts';
import { expectNoViolation, ofType, small } from './machines-helpers.ts';

describe('the description clock', () => {
  test("each dispatch writes its clock into field 9 of the owner's description, other fields kept", async () => {
    const h = await small({ durationMs: 15 * DAY });
    const descriptions = new MemoryCommunityDescriptions();
    // a description the host already holds: clock = 1 (field 1), intro_message = 11
    descriptions.writeDescription(h.communityId, Uint8Array.from([0x08, 1, 0x5a, 2, 0x68, 0x69]));
    h.owner.adapters.descriptions = descriptions;
    await h.run();
    expectNoViolation(h);
    const dispatched = ofType(h.owner, 'archive.magnetlinkDispatched');
    expect(dispatched).toHaveLength(2);
    const d = descriptions.readDescription(h.communityId)!;
    expect(archiveMagnetlinkClockOf(d)).toBe(dispatched[1]!.clock);
    expect(d.subarray(0, 2)).toEqual(Uint8Array.of(0x08, 1));
    expect(d.subarray(d.length - 4)).toEqual(Uint8Array.of(0x5a, 2, 0x68, 0x69));
  });

  test('without descriptions (simulated runs) dispatch goes on as before', async () => {
    const h = await small({ durationMs: 8 * DAY });
    await h.run();
    expectNoViolation(h);
    expect(h.owner.adapters.descriptions).toBeUndefined();
    expect(ofType(h.owner, 'archive.magnetlinkDispatched')).toHaveLength(1);
  });

  test('sqlite storage keeps descriptions across reopening', () => {
    const dir = mkdtempSync(join(tmpdir(), 'archivist-desc-'));
    try {
      const path = join(dir, 'node.db');
      const a = new SqliteStorage(path);
      expect(a.readDescription('0x02aa')).toBeUndefined();
      a.writeDescription('0x02aa', Uint8Array.of(0x48, 5));
      a.writeDescription('0x02aa', Uint8Array.of(0x48, 6));
      a.close();
      const b = new SqliteStorage(path);
      expect(b.readDescription('0x02aa')).toEqual(Uint8Array.of(0x48, 6));
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
