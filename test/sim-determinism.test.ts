import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function demo(seed: number): Promise<{ seed: number; hash: string; lines: number; events: number }> {
  const { stdout } = await run(process.execPath, ['adapters/sim/demo.ts', String(seed)], {
    cwd: `${import.meta.dirname}/..`,
  });
  return JSON.parse(stdout.trim());
}

describe('determinism', () => {
  it('the same seed gives the same trace hash in two separate processes; another seed differs', async () => {
    const [a, b, c] = await Promise.all([demo(7), demo(7), demo(8)]);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.lines).toBeGreaterThan(500);
    expect(b).toEqual(a);
    expect(c.hash).not.toBe(a.hash);
  });
});
