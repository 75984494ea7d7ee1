// The HTML report opens in headless Chromium without network, and each of its four charts
// really rendered: an echarts instance with the expected series data, and a canvas whose
// pixels are not all blank. A screenshot is saved to out/report.png.

import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../report/html.ts';
import type { RunDetails, RunResult } from '../scenarios/result.ts';

const CHROMIUM = '/usr/bin/chromium';

/** The little of the page's world the test touches (the project's tsconfig has no DOM types). */
interface BrowserGlobals {
  archivistCharts: Record<
    string,
    {
      getOption(): { series: { data: unknown[] }[] };
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
  >;
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

describe('HTML report', () => {
  let browser: Browser;
  const outDir = resolve('out');
  const file = resolve(outDir, 'report-test.html');
  const { result, details } = reportFixture();

  beforeAll(async () => {
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

  it('renders every chart in headless Chromium', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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
      const out: Record<string, { series: number[]; inked: number; width: number }> = {};
      for (const [id, chart] of Object.entries(w.archivistCharts)) {
        const canvas = chart.getDom().querySelector('canvas');
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let inked = 0;
        for (let i = 0; i < data.length; i += 4) {
          // a pixel that is drawn and not white
          if ((data[i + 3] as number) > 0 && ((data[i] as number) < 230 || (data[i + 2] as number) < 230))
            inked++;
        }
        out[id] = { series: chart.getOption().series.map((s) => s.data.length), inked, width: canvas.width };
      }
      return out;
    });

    expect(Object.keys(charts).sort()).toEqual(['bytes', 'history', 'signals', 'timeline']);
    const kinds = ['round', 'dispatch', 'download', 'import'];
    expect(charts.timeline?.series).toEqual(
      kinds.map((k) => details.activity.filter((e) => e.kind === k).length),
    );
    expect(charts.history?.series).toEqual([details.history.length]);
    expect(charts.bytes?.series).toEqual([result.members.length, result.members.length]);
    expect(charts.signals?.series).toEqual([Object.keys(result.signals).length]);
    for (const [id, chart] of Object.entries(charts)) {
      expect(chart.width, id).toBeGreaterThan(300);
      // axes, labels and data marks: thousands of coloured pixels, not a blank canvas
      expect(chart.inked, id).toBeGreaterThan(2000);
    }
    await page.screenshot({ path: resolve(outDir, 'report.png'), fullPage: true });
    await page.close();
  });
});

const DAY = 86_400_000;

/** A run result as the runner produces it: two owners' rounds, three members. */
function reportFixture(): { result: RunResult; details: RunDetails } {
  const start = Date.parse('2026-01-05T00:00:00Z');
  const members = ['alice', 'bob', 'carol'];
  const activity: RunDetails['activity'] = [];
  const history: RunDetails['history'] = [];
  for (let week = 1; week <= 5; week++) {
    const t = start + week * 7 * DAY;
    activity.push({ t, node: 'owner', communityId: 'c1', kind: 'round', detail: `${week} archives` });
    activity.push({ t: t + 1000, node: 'owner', communityId: 'c1', kind: 'dispatch' });
    members.forEach((m, i) => {
      activity.push({ t: t + (i + 1) * 3_600_000, node: m, communityId: 'c1', kind: 'download' });
      activity.push({ t: t + (i + 1) * 3_600_000 + 300_000, node: m, communityId: 'c1', kind: 'import' });
    });
    history.push({ t, communityId: 'c1', share: 0 });
    history.push({ t: t + 3 * 3_600_000 + 300_000, communityId: 'c1', share: 1 });
  }
  const result: RunResult = {
    scenario: 'report-fixture',
    seed: 7,
    ok: true,
    traceHash: 'ab'.repeat(32),
    virtualMs: 36 * DAY,
    events: 1234,
    rounds: [1, 2, 3, 4, 5].map((w) => ({
      communityId: 'c1',
      start: start + (w - 1) * 7 * DAY,
      end: start + w * 7 * DAY,
      archives: w,
      infoHash: String(w).repeat(40),
    })),
    magnetlinks: [],
    members: members.map((node, i) => ({
      node,
      communityId: 'c1',
      downloaded: 5,
      imported: 5,
      messagesImported: 500,
      bytesDown: 500_000 + i * 100_000,
      bytesUp: i * 50_000,
    })),
    signals: {
      'community.historyArchivesCreated': 5,
      'community.historyArchivesSeeding': 20,
      'community.historyArchiveDownloaded': 15,
      'community.importingHistoryArchiveMessages': 15,
    },
    invariants: { dataAppendOnly: 'ok', convergence: 'ok' },
    expectations: [{ text: 'every member imports 5 archives', ok: true }],
  };
  return { result, details: { start, activity, history } };
}
