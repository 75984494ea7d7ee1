// The HTML report of a real run opens in headless Chromium without network, and each of its
// four charts really rendered: an echarts instance holding the run's data, and a canvas
// whose pixels are not all blank. A screenshot is saved to out/report.png.

import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../report/html.ts';
import { loadScenario } from '../scenarios/load.ts';
import type { RunDetails, RunResult } from '../scenarios/result.ts';
import { runScenario } from '../scenarios/runner.ts';

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
  let result: RunResult;
  let details: RunDetails;

  beforeAll(async () => {
    // A real run of the default scenario: four nodes, five weekly rounds.
    ({ result, details } = await runScenario(loadScenario('scenarios/weekly-rounds.yaml')));
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
    expect(details.activity.length).toBeGreaterThan(20);
    expect(details.history.length).toBeGreaterThan(20);
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
