// The HTML report opens in headless Chromium without network, and each of its charts really
// rendered: an echarts instance holding the run's data, and a canvas whose pixels are not
// all blank. It shows what a protocol engineer asks of a run (issue 17.9): per-member
// progress over time, the announce → download → import latencies, fault windows on the time
// axis, the tables of parameters and of rounds and archives, zoom on every time axis
// (linked), and two runs side by side (`archivist run --compare`, `archivist report`).
// Screenshots are saved to out/report.png and out/report-compare.png.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../report/html.ts';
import { parseScenario } from '../scenarios/load.ts';
import type { BackendFigures, RunDetails, RunResult } from '../scenarios/result.ts';
import { runScenario } from '../scenarios/runner.ts';
import { captureCli } from './cli-helpers.ts';
import { smallCommunity } from './fixtures/small-community.ts';

const CHROMIUM = '/usr/bin/chromium';

/** The little of the page's world the test touches (the project's tsconfig has no DOM types). */
interface EchartsLike {
  getOption(): {
    series: {
      type: string;
      data: unknown[];
      markArea?: { data: unknown[] };
      markLine?: { data: unknown[] };
    }[];
    dataZoom?: { start: number; end: number }[];
  };
  dispatchAction(action: Record<string, unknown>): void;
  getDom(): {
    querySelector(selector: 'canvas'): {
      width: number;
      height: number;
      getContext(kind: '2d'): {
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
      };
    };
  };
}
interface BrowserGlobals {
  archivistCharts: Record<string, EchartsLike>;
  document: { querySelectorAll(s: string): { length: number } };
}
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Weekly rounds with a late joiner, and faults of a node, the network and the swarm. */
const FAULTED = `name: report-faults
duration: 30d
communities:
  - id: c1
    chats: [general, random]
nodes:
  - name: owner
    role: owner
members:
  count: 4
  joinAt: {from: 0d, to: 9d}
traffic:
  - community: c1
    rate: 40/d
    size: {min: 200B, max: 2KiB}
timeline:
  - {at: 6d, do: offline, node: m2}
  - {at: 8d, do: online, node: m2}
  - {at: 13d, do: partition, groups: [[owner, m1], [m2, m3, m4]]}
  - {at: 15d, do: heal}
  - {at: 18d, do: network, conditions: {loss: 0.2}}
  - {at: 19d, do: network, conditions: {loss: 0}}
  - {at: 20d, do: corruptPieces, node: owner, community: c1, pieces: 2}
`;

/** The charts of one run. */
const ALL_CHARTS = [
  'bytes',
  'faults',
  'history',
  'latency',
  'progress',
  'signals',
  'timeline',
  'tohistory',
  'uploads',
] as const;

/** A small community for `archivist compare`: weekly rounds, a late joiner, a member away a while. */
const BACKENDS = smallCommunity('backends');

interface ChartFigures {
  series: { type: string; data: number }[];
  markAreas: number;
  markLines: number;
  inked: number;
  width: number;
}

async function open(
  browser: Browser,
  file: string,
): Promise<{ page: Page; charts: Record<string, ChartFigures> }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url());
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (globalThis as unknown as BrowserGlobals).archivistCharts !== undefined);
  expect(errors).toEqual([]);
  expect(requests).toEqual([]);
  const charts = await page.evaluate(() => {
    const w = globalThis as unknown as BrowserGlobals;
    const out: Record<string, ChartFigures> = {};
    for (const [id, chart] of Object.entries(w.archivistCharts)) {
      const canvas = chart.getDom().querySelector('canvas');
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let inked = 0;
      for (let i = 0; i < data.length; i += 4) {
        // a pixel that is drawn and not white
        if ((data[i + 3] as number) > 0 && ((data[i] as number) < 230 || (data[i + 2] as number) < 230))
          inked++;
      }
      const series = chart.getOption().series;
      out[id] = {
        series: series.map((s) => ({ type: s.type, data: s.data.length })),
        markAreas: series.reduce((n, s) => n + (s.markArea?.data.length ?? 0), 0),
        markLines: series.reduce((n, s) => n + (s.markLine?.data.length ?? 0), 0),
        inked,
        width: canvas.width,
      };
    }
    return out;
  });
  return { page, charts };
}

/** Every chart of one run holds that run's data and drew it. */
function expectRunCharts(
  charts: Record<string, ChartFigures>,
  suffix: string,
  result: RunResult,
  details: RunDetails,
) {
  const c = (id: string) => charts[`${id}${suffix}`] as ChartFigures;
  const kinds = ['round', 'dispatch', 'download', 'import'];
  expect(c('timeline').series.map((s) => s.data)).toEqual([
    ...kinds.map((k) => details.activity.filter((e) => e.kind === k).length),
    0, // the fault windows' series holds only its bands
  ]);
  const spans = details.faults.filter((w) => !w.instant).length;
  const instants = details.faults.filter((w) => w.instant).length;
  expect(c('timeline').markAreas).toBe(spans);
  expect(c('timeline').markLines).toBe(instants);
  expect(c('history').markAreas).toBe(spans);
  // the fault windows, one bar each, one series per kind
  expect(c('faults').series.reduce((n, s) => n + s.data, 0)).toBe(details.faults.length);
  expect(c('faults').series.length).toBe(new Set(details.faults.map((w) => w.kind)).size);
  // progress: one cell per member and point in time it had joined at
  const cells = details.progress.rows.reduce((n, r) => n + r.share.filter((v) => v !== null).length, 0);
  expect(c('progress').series).toEqual([{ type: 'heatmap', data: cells }]);
  expect(c('latency').series.map((s) => s.data)).toEqual(details.latency.map((l) => l.bins.length));
  expect(c('history').series[0]?.data).toBe(details.history.length);
  expect(c('bytes').series.map((s) => s.data)).toEqual([result.members.length, result.members.length]);
  expect(c('signals').series.map((s) => s.data)).toEqual([Object.keys(result.signals).length]);
  // the backend figures: every counted member's time to full history, failed and retried
  // fetches; the uploads of owners and peers in the swarm and the content network
  const counted = details.backend?.members.length ?? -1;
  expect(counted).toBeGreaterThan(0);
  expect(c('tohistory').series).toEqual([
    { type: 'bar', data: counted },
    { type: 'line', data: counted },
    { type: 'line', data: counted },
  ]);
  expect(c('uploads').series).toEqual([
    { type: 'bar', data: 2 },
    { type: 'bar', data: 2 },
  ]);
  for (const id of ALL_CHARTS) {
    expect(c(id).width, id).toBeGreaterThan(300);
    // axes, labels and data marks: thousands of coloured pixels, not a blank canvas
    expect(c(id).inked, id).toBeGreaterThan(2000);
  }
}

describe('HTML report', () => {
  let browser: Browser;
  const outDir = resolve('out');
  const file = resolve(outDir, 'report-test.html');
  let result: RunResult;
  let details: RunDetails;

  beforeAll(async () => {
    ({ result, details } = await runScenario(parseScenario(FAULTED, 'report-faults.yaml')));
    mkdirSync(outDir, { recursive: true });
    writeFileSync(file, renderReport(result, details));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('is deterministic and self-contained', () => {
    const a = renderReport(result, details);
    expect(renderReport(result, details)).toBe(a);
    // No external resources: no src=/href= pointing at a network address.
    expect(a).not.toMatch(/(src|href)\s*=\s*["']https?:/i);
    expect(a).toContain('echarts');
  });

  it('the run gives the report what it shows: progress, latencies, fault windows, archives, parameters', () => {
    expect(details.faults.map((w) => `${w.kind}:${w.subject}`)).toEqual([
      'offline:m2',
      'partition:network',
      'loss:network',
      'corruptPieces:owner',
    ]);
    expect(details.faults[0]).toMatchObject({
      from: details.start + 6 * 86_400_000,
      to: details.start + 8 * 86_400_000,
    });
    expect(details.faults[3]?.instant).toBe(true);
    expect(details.progress.rows.map((r) => r.node)).toEqual(['m1', 'm2', 'm3', 'm4']);
    // m4 joins on day 9: no progress before, all of the index at the end
    const m4 = details.progress.rows[3]?.share ?? [];
    const joinIndex = details.progress.times.findIndex((t) => t >= details.start + 9 * 86_400_000);
    expect(m4.slice(0, joinIndex).every((v) => v === null)).toBe(true);
    expect(m4.at(-1)).toBe(1);
    const [toDownload, toImport, total] = details.latency;
    expect(toDownload?.count).toBe(
      result.members.filter((m) => m.node !== 'owner').reduce((n, m) => n + m.downloaded, 0),
    );
    expect(toImport?.count).toBeGreaterThan(0);
    expect(total?.p50).toBeGreaterThanOrEqual(toDownload?.p50 ?? 0);
    expect(details.archives).toHaveLength(result.rounds.reduce((n, r) => n + r.archives, 0));
    expect(details.archives.every((a) => a.importedBy === 4)).toBe(true);
    expect(details.parameters).toMatchObject({
      scenario: 'report-faults',
      nodes: { owners: 1, members: 4, lateJoiners: 3 },
    });
  });

  it('renders every chart in headless Chromium, with the tables, and zooms every time axis together', async () => {
    const { page, charts } = await open(browser, file);
    expect(Object.keys(charts).sort()).toEqual([...ALL_CHARTS]);
    expectRunCharts(charts, '', result, details);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<h2>Scenario</h2>');
    expect(html).toContain('<h2>Machine options and quirks</h2>');
    const archiveRows = await page.evaluate(
      () => (globalThis as unknown as BrowserGlobals).document.querySelectorAll('table.archives tr').length,
    );
    expect(archiveRows).toBe(details.archives.length + 1);
    // zoom: a range picked on the timeline is the range of the other time charts
    const zoomed = await page.evaluate(() => {
      const c = (globalThis as unknown as BrowserGlobals).archivistCharts;
      c.timeline?.dispatchAction({ type: 'dataZoom', dataZoomIndex: 0, start: 20, end: 45 });
      return ['history', 'faults', 'progress'].map((id) => c[id]?.getOption().dataZoom?.[0]);
    });
    for (const z of zoomed) expect(z).toMatchObject({ start: 20, end: 45 });
    await page.screenshot({ path: resolve(outDir, 'report.png'), fullPage: true });
    await page.close();
  });

  it('a community of many members: the node rows scroll (about 30 at a time), every member has its progress row', async () => {
    const many = FAULTED.replace('count: 4', 'count: 45')
      .replace('duration: 30d', 'duration: 10d')
      .replace(/timeline:[\s\S]*$/, 'timeline:\n  - {at: 8d, do: offline, node: m40}\n');
    const run = await runScenario(parseScenario(many, 'many.yaml'));
    const big = resolve(outDir, 'report-many.html');
    writeFileSync(big, renderReport(run.result, run.details));
    const { page, charts } = await open(browser, big);
    expectRunCharts(charts, '', run.result, run.details);
    expect(run.details.progress.rows).toHaveLength(45);
    const zoom = await page.evaluate(() => {
      const c = (globalThis as unknown as BrowserGlobals).archivistCharts;
      return {
        timeline: c.timeline?.getOption().dataZoom?.[2],
        progress: c.progress?.getOption().dataZoom?.[2],
      };
    });
    expect(zoom.timeline?.end).toBeCloseTo(3000 / 46, 5); // owner and 45 members: 30 rows shown
    expect(zoom.progress?.end).toBeCloseTo(4000 / 45, 5);
    await page.close();
  });

  describe('two runs side by side', () => {
    const io = captureCli();

    it('archivist run --compare and archivist report of two saved runs put both runs in one page', async () => {
      const dir = resolve(outDir, 'report-compare');
      mkdirSync(dir, { recursive: true });
      const scenario = resolve(dir, 'faulted.yaml');
      writeFileSync(scenario, FAULTED);
      const html = resolve(dir, 'compare.html');
      expect(
        await io.run(
          'run',
          scenario,
          '--compare',
          scenario,
          '--compare-seed',
          '2',
          '--report',
          html,
          '--json',
        ),
      ).toBe(0);
      const [a, b] = JSON.parse(io.out) as [RunResult, RunResult];
      expect([a.seed, b.seed]).toEqual([1, 2]);
      expect(a.traceHash).not.toBe(b.traceHash);
      const { page, charts } = await open(browser, html);
      expect(Object.keys(charts).sort()).toEqual(ALL_CHARTS.flatMap((id) => [`${id}-1`, `${id}-2`]).sort());
      const again = (seed: number) => runScenario(parseScenario(FAULTED, 'report-faults.yaml'), { seed });
      const one = await again(1);
      const two = await again(2);
      expectRunCharts(charts, '-1', one.result, one.details);
      expectRunCharts(charts, '-2', two.result, two.details);
      const text = readFileSync(html, 'utf8');
      expect(text).toContain('faulted.yaml seed 1 vs faulted.yaml seed 2');
      // zooming one run zooms the other
      const z = await page.evaluate(() => {
        const c = (globalThis as unknown as BrowserGlobals).archivistCharts;
        c['timeline-1']?.dispatchAction({ type: 'dataZoom', dataZoomIndex: 0, start: 10, end: 30 });
        return c['timeline-2']?.getOption().dataZoom?.[0];
      });
      expect(z).toMatchObject({ start: 10, end: 30 });
      await page.screenshot({ path: resolve(outDir, 'report-compare.png'), fullPage: true });
      await page.close();

      // the same two runs saved and put side by side by `archivist report`
      io.clear();
      const saved = (seed: string) => resolve(dir, `seed-${seed}.json`);
      for (const seed of ['1', '2'])
        expect(
          await io.run('run', scenario, '--seed', seed, '--save', saved(seed), '--progress', 'none'),
        ).toBe(0);
      const fromSaved = resolve(dir, 'saved.html');
      io.clear();
      expect(await io.run('report', saved('1'), saved('2'), '--out', fromSaved)).toBe(0);
      expect(io.out).toBe(`report: ${fromSaved}\n`);
      const second = await open(browser, fromSaved);
      expectRunCharts(second.charts, '-1', one.result, one.details);
      expectRunCharts(second.charts, '-2', two.result, two.details);
      await second.page.close();
      io.clear();
      expect(await io.run('report', scenario, '--out', fromSaved)).toBe(2);
      expect(io.err).toMatch(/faulted\.yaml: expected a run saved by `archivist run --save`/);
    }, 240_000);

    it('archivist compare --report: the torrent and the cid run side by side, with their backend figures', async () => {
      const dir = resolve(outDir, 'report-backends');
      mkdirSync(dir, { recursive: true });
      const scenario = resolve(dir, 'backends.yaml');
      writeFileSync(scenario, BACKENDS);
      const html = resolve(dir, 'backends.html');
      expect(await io.run('compare', scenario, '--report', html, '--json', '--progress', 'none')).toBe(0);
      const json = JSON.parse(io.out) as {
        runs: (BackendFigures & { ok: boolean; traceHash: string })[];
      };
      expect(json.runs.map((r) => r.backend)).toEqual(['torrent', 'cid']);
      const { page, charts } = await open(browser, html);
      for (const [i, run] of json.runs.entries()) {
        const c = (id: string) => charts[`${id}-${i + 1}`] as ChartFigures;
        expect(run.membersCounted).toBe(3);
        expect(c('tohistory').series.map((s) => s.data)).toEqual([3, 3, 3]);
        expect(c('uploads').series.map((s) => s.data)).toEqual([2, 2]);
        for (const id of ['tohistory', 'uploads']) expect(c(id).inked, id).toBeGreaterThan(2000);
      }
      // the charts hold the runs' own figures: each member's time, owners' and peers' bytes
      const shown = await page.evaluate(() => {
        const c = (globalThis as unknown as BrowserGlobals).archivistCharts;
        return [1, 2].map((i) => ({
          times: c[`tohistory-${i}`]?.getOption().series[0]?.data,
          uploads: c[`uploads-${i}`]?.getOption().series.map((s) => s.data),
        }));
      });
      for (const [i, run] of json.runs.entries()) {
        const byName = [...run.members].sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }));
        expect(shown[i]?.times).toEqual(byName.map((m) => m.timeToFullHistory));
        expect(shown[i]?.uploads).toEqual([
          [run.uploaded.torrent.owners, run.uploaded.content.owners],
          [run.uploaded.torrent.peers, run.uploaded.content.peers],
        ]);
      }
      const text = readFileSync(html, 'utf8');
      expect(text).toContain('<h2>Backends</h2>');
      expect(text).toContain('backends — torrent vs backends — cid');
      const backendRows = await page.evaluate(
        () => (globalThis as unknown as BrowserGlobals).document.querySelectorAll('table.backends tr').length,
      );
      expect(backendRows).toBe(12); // the head, then 11 figures
      await page.screenshot({ path: resolve(outDir, 'report-backends.png'), fullPage: true });
      await page.close();
    }, 240_000);
  });
});
