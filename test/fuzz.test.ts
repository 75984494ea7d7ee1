// The fuzz campaigns of `npm run fuzz` (fuzz/), short: every decoder, the scenario loader
// and the store service take a few thousand inputs each with no untyped error and no hang
// (the peer wire's campaign runs in real-hostile-peer.test.ts). The harness is checked too:
// its watchdog reports an input that never returns, names it and goes on; an untyped error
// is counted with its input; the command prints its table and exits 0, 1 or 2.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { untypedCount } from '../fuzz/campaign.ts';
import { runInWorker } from '../fuzz/run-in-worker.ts';
import { CAMPAIGNS } from '../fuzz/targets.ts';

const MAIN = join(import.meta.dirname, '..', 'fuzz', 'main.ts');

function fuzz(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('fuzz campaigns, short', () => {
  it.each(CAMPAIGNS.map((c) => [c.name, c.weight]))(
    '%s: no untyped error, no hang',
    async (name) => {
      const count = name === 'scenario loader' ? 400 : 3000;
      const r = await runInWorker(name as string, { seed: 11, count, hangMs: 10_000 });
      expect(r.inputs).toBe(count);
      expect(r.untyped).toEqual([]);
      expect(r.hangs).toEqual([]);
      // Mutations of valid encodings: some are refused, some still decode.
      if (r.refused > 0) expect(r.refused).toBeLessThan(count);
    },
    60_000,
  );
});

describe('the harness', () => {
  it('reports an input that never returns as a hang, by its bytes, and goes on after it', async () => {
    const r = await runInWorker('canary: loops on a leading 0xff', { seed: 3, count: 600, hangMs: 300 });
    expect(r.hangs.length).toBeGreaterThan(0);
    for (const h of r.hangs) expect(h.input).toMatch(/^\d B: ff/);
    expect(r.inputs).toBe(600);
  }, 60_000);

  it('counts untyped errors with their input, and typed ones as refusals', async () => {
    const r = await runInWorker('canary: TypeError on a leading 0x00', { seed: 3, count: 2000 });
    expect(untypedCount(r)).toBeGreaterThan(0);
    expect(r.untyped[0]!.error).toMatch(/^TypeError/);
    expect(r.untyped[0]!.input).toMatch(/^\d B: 00/);
    expect(r.refused).toBeGreaterThan(0);
  });

  it('npm run fuzz prints every campaign and the totals; exit 0 clean, 2 on a bad flag', async () => {
    const ok = await fuzz(['--inputs', '2000', '--only', 'magnet,bencode']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^magnet +1000 inputs +\d+ refused +0 untyped +0 hangs/m);
    expect(ok.stdout).toMatch(/^bencode +1000 inputs/m);
    expect(ok.stdout).toMatch(/^total: 2000 inputs, 0 untyped errors, 0 hangs, slowest input [\d.]+ ms/m);
    const bad = await fuzz(['--only', 'nothing']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--only: no campaign "nothing"/);
  }, 60_000);
});
